"""The handover page as Markdown and as one standalone HTML file (no script, no external resource).

Every string is escaped here: cell text cannot open a Markdown link, image or table column, nor an
HTML tag or attribute.
"""

from __future__ import annotations

import html
import re

from gate.handover.document import Document, Section

# Parentheses and `+` need no escape once `[`, `]` and line starts cannot open a link or a list.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~])")
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1b1f24;
background:#fff;max-width:1100px;margin:24px auto;padding:0 20px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 6px;border-bottom:2px solid #d0d7de;padding-bottom:3px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0 0}dt{color:#57606a}dd{margin:0}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border:1px solid #d0d7de;padding:4px 8px;
text-align:left;vertical-align:top;overflow-wrap:break-word}th{background:#f6f8fa}
p.note{color:#57606a;margin:4px 0}p.empty{font-style:italic;color:#57606a}ol{margin:4px 0 4px 20px}
.verdict-fail,.verdict-error{color:#b42318;font-weight:700}.verdict-pass{color:#1a7f37;font-weight:700}
@media print{body{margin:0;max-width:none}}
"""


def _md(text: str) -> str:
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def markdown(document: Document) -> str:
    lines = [f"# {_md(document.title)}", ""]
    lines += [f"- **{_md(key)}:** {_md(value)}" for key, value in document.facts]
    for section in document.sections:
        lines += ["", f"## {_md(section.title)}", ""]
        if section.note:
            lines += [_md(section.note), ""]
        if section.rows:
            lines.append("| " + " | ".join(_md(c) for c in section.columns) + " |")
            lines.append("|" + " --- |" * len(section.columns))
            lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in section.rows]
        elif not section.steps:
            lines.append(f"_{_md(section.empty)}_")
        for heading, steps in section.steps:
            lines += ["", f"**{_md(heading)}**", ""]
            lines += [f"{number}. {_md(step)}" for number, step in enumerate(steps, 1)]
    return "\n".join(lines) + "\n"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _section_html(section: Section) -> str:
    parts = [f"<section><h2>{_e(section.title)}</h2>"]
    if section.note:
        parts.append(f'<p class="note">{_e(section.note)}</p>')
    if section.rows:
        head = "".join(f"<th>{_e(c)}</th>" for c in section.columns)
        body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in section.rows)
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    elif not section.steps:
        parts.append(f'<p class="empty">{_e(section.empty)}</p>')
    for heading, steps in section.steps:
        items = "".join(f"<li>{_e(step)}</li>" for step in steps)
        parts.append(f"<p><strong>{_e(heading)}</strong></p><ol>{items}</ol>")
    return "".join(parts) + "</section>"


def standalone_html(document: Document) -> str:
    facts = "".join(
        f"<dt>{_e(key)}</dt><dd" + (f' class="verdict-{_e(value)}"' if key == "Verdict" else "") + f">{_e(value)}</dd>"
        for key, value in document.facts
    )
    # The policy forbids every load: the page is one file that works offline and cannot call out.
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(document.title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{_e(document.title)}</h1><dl class="facts">{facts}</dl>'
        + "".join(_section_html(section) for section in document.sections)
        + "</body></html>\n"
    )
