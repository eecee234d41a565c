"""Workflow commands on stdout: the escaping, job outputs, and a guard around untrusted text.

Escaping follows the runner's decoder (actions/runner `ActionCommand.cs`), which unescapes
`%0D %0A %3A %2C` before `%25`; so `%` is encoded first, or a literal `%0A` in a message would
come back as a newline. What the commands say (annotations, the job summary) is rendered in
gate/report/.
"""

from __future__ import annotations

import os
import re
import secrets as _random
from collections.abc import Mapping
from typing import Literal

from gate.redact import scrub

Level = Literal["error", "warning", "notice"]


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(name: str, properties: Mapping[str, str | int | None], message: str) -> str:
    """One command line; every value is scrubbed before it is escaped."""
    props = ",".join(
        f"{key}={escape_property(scrub(str(value)))}" for key, value in properties.items() if value is not None
    )
    head = f"::{name} {props}" if props else f"::{name}"
    return f"{head}::{escape_data(scrub(message))}"


def plain_notice(title: str, message: str, level: Level = "notice") -> str:
    return workflow_command(level, {"title": title}, message)


def output_lines(values: Mapping[str, str]) -> str:
    """`$GITHUB_OUTPUT` text: multi-line form with a delimiter that cannot occur in the value."""
    chunks = []
    for name, value in values.items():
        value = scrub(value)
        if "\n" in value or "\r" in value:
            delimiter = f"GATE_EOF_{_random.token_hex(8)}"
            while delimiter in value:
                delimiter = f"GATE_EOF_{_random.token_hex(8)}"
            chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            chunks.append(f"{name}={value}\n")
    return "".join(chunks)


# What the runner would take as a command: `::` first on a line (it trims whitespace, and reads
# a lone CR as a line end too), or the legacy `##[` anywhere in a line.
_COMMAND_LIKE = re.compile(r"(?:\A|[\r\n])[^\S\r\n]*::|##\[")


def command_like(text: str) -> bool:
    return _COMMAND_LIKE.search(text) is not None


def guarded(text: str, token: str | None = None) -> str:
    """Wrap untrusted text so no line of it can be taken as a workflow command.

    A finding's message may quote a file; a line in it reading `::add-mask::`, or `##[add-mask]`
    anywhere, would otherwise be obeyed by the runner. `::stop-commands::TOKEN` makes the runner
    ignore commands of both syntaxes until `::TOKEN::`, and the token is random so the text
    cannot end the pause itself.
    """
    if not command_like(text):
        return text
    token = token or _random.token_hex(16)
    body = text if text.endswith("\n") else text + "\n"
    return f"::stop-commands::{token}\n{body}::{token}::\n"


def in_actions(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a GitHub runner reads this process's stdout and stderr, whatever --github says."""
    return (os.environ if environ is None else environ).get("GITHUB_ACTIONS") == "true"


def for_runner(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Human-readable text for stdout or stderr: guarded when a runner reads it."""
    return guarded(text) if in_actions(environ) else text


def escape_report(text: str, fmt: str) -> str:
    """A machine-readable report made inert for the runner without changing what it parses to.

    It may be redirected to a file, so no stop-commands lines: in JSON `#` occurs only inside
    strings, where `\\u0023` is the same character; XML takes a character reference. A line of
    either never starts with `::` except inside XML text, where `:` becomes `&#58;`.
    """
    if fmt in ("json", "sarif"):
        return text.replace("##[", "#\\u0023[")
    if fmt == "junit":
        return text.replace("##[", "#&#35;[").replace("::", ":&#58;")
    return text
