"""`gate init`: gate.yml, env.manifest.yml and workflows from what the project's files say.

Each detected item is written uncommented with a comment saying where it was found and how sure
the guess is; the preset's own numbers follow, commented, to show what can be overridden. Both
files are validated the way `gate run` will load them before anything is written.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gate.config import preset_names, preset_path
from gate.errors import CheckFailure, InputError, InputErrors, Position
from gate.init.detect import LOCK_FILES, Hosting, Stack
from gate.init.envdraft import EnvDraft
from gate.init.routes import Route
from gate.init.workflow import Workflow, preview_route

HEADER = """\
# gate.yml: launch-gate's budgets for this project, reviewed like code.
# `gate schema` prints the JSON Schema of this file; `gate explain RULE_ID` explains a finding.
# Exit codes: 0 go, 1 a budget failed (release blocked), 2 bad input, 3 could not finish.
version: 1
preset: {preset}   # prototype (idea to prototype) | demo (sales and investor demos) | launch (first customers)
"""

FOOTER = """
# Reviewed suppressions: every one has a reason, may expire, and is listed in every report.
suppressions: []
#  - rule: env.not-in-manifest         # a rule id or glob; or `fingerprint:` from a report
#    path: .env.development            # optional path, route or name glob
#    reason: local-only debug flag, never deployed
#    expires: 2027-01-31               # an expired suppression fails the run
"""
LOGIN_FIELDS = "email and password to the env variables GATE_LOGIN_EMAIL and GATE_LOGIN_PASSWORD"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def clean(text: object, limit: int = 120) -> str:
    """A file name or value as it may appear in a comment or on the console: one line, bounded."""
    shown = _UNSAFE.sub("?", str(text))
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def quote(text: str) -> str:
    """A YAML scalar that stays one string whatever it holds (JSON strings are YAML)."""
    return json.dumps(text, ensure_ascii=True)


def require_preset(preset: str) -> None:
    if preset not in preset_names():
        raise InputError(
            f"unknown preset '{preset}'", Position("--preset"), hint=f"use one of: {', '.join(preset_names())}"
        )


def preset_reference(preset: str) -> str:
    """The preset's settings as comments: the numbers a line in gate.yml would override."""
    require_preset(preset)
    lines = ["", "# What the preset sets; copy a line into the sections above to override it."]
    for line in preset_path(preset).read_text().splitlines():
        if line.startswith("version:") or not line.strip():
            continue
        lines.append(f"# {line}" if not line.startswith("#") else f"#{line}")
    return "\n".join(lines) + "\n"


def render_init(preset: str) -> str:
    """gate.yml with the preset's defaults only (no project read)."""
    return HEADER.format(preset=preset) + preset_reference(preset) + FOOTER


@dataclass(frozen=True)
class Detected:
    stack: Stack
    hosting: Hosting
    routes: Sequence[Route]
    env: EnvDraft
    preview_url: str | None = None
    openapi_url: str | None = None
    notes: Sequence[str] = ()


def _route_line(route: Route) -> str:
    fields = [f"path: {quote(route.path)}", f"method: {route.method}", f"class: {route.route_class}"]
    if route.auth:
        fields.append("auth: true")
    where = f"{clean(route.source)}:{route.line}"
    why = clean(route.reason, 80) + (f"; the preview answered {route.answered}" if route.answered else "")
    flags = (", admin: must refuse anonymous users" if route.admin else "") + (", login" if route.login else "")
    return f"      - {{{', '.join(fields)}}}  # {where}: {route.route_class} (guess: {why}{flags})"


def _http_section(found: Detected, budgets_of: Sequence[str]) -> list[str]:
    live = found.preview_url is not None
    lines = ["  http:"]
    if live:
        lines.append("    enabled: true  # `gate init --preview` reached the preview")
        lines.append(f"    url: {quote(found.preview_url or '')}  # given with --preview; CI passes each preview's URL")
    else:
        platform = str(found.hosting.platform.value) if found.hosting.platform else None
        lines.append(f"    # {preview_route(platform)}")
        lines.append("    # `gate init --preview URL --force` against a running preview probes these routes here.")
        lines.append("    enabled: false")
    static = [r for r in found.routes if not r.dynamic]
    dynamic = [r for r in found.routes if r.dynamic]
    if static:
        lines.append("    routes:  # found in the code; classes are guesses, change any that is wrong")
        lines += [_route_line(route) for route in static]
    for route in dynamic:
        lines.append(f"    # needs a real value for its parameter: {clean(route.method)} {clean(route.path)}")
        lines.append(f"    #   ({clean(route.source)}:{route.line}, class {route.route_class} guessed)")
    login = next((r for r in found.routes if r.login), None)
    if login is not None:
        lines += [
            f"    # Sign-in found at {clean(login.method)} {clean(login.path)} ({clean(login.source)}:{login.line}).",
            "    # With a test account, let the gate sign in: a `login:` entry with this path whose",
            f"    # fields map {LOGIN_FIELDS} (values come from CI secrets, never from this file).",
        ]
    return lines


def render_config(found: Detected, preset: str) -> str:
    """The whole gate.yml; sections appear in the order a reader meets the checks."""
    require_preset(preset)
    stack, hosting = found.stack, found.hosting
    lines = [HEADER.format(preset=preset).rstrip("\n")]
    described = ", ".join(f"{clean(g.value)} ({clean(g.source)})" for g in [*stack.frameworks, *stack.backends])
    lines.append(f"# Found by `gate init`: {described or 'no known framework'}.")
    if hosting.platform is not None:
        lines.append(f"# Hosted on {clean(hosting.platform.value)} ({clean(hosting.platform.source)}, certain).")
    lines.append("checks:")
    lines.append("  env:")
    lines.append("    enabled: true")
    count = len(found.env.variables)
    sources = ", ".join(clean(f) for f in found.env.example_files) or "no .env example"
    lines.append(
        f"    manifest: env.manifest.yml  # drafted by gate init: {count} variables from {sources} and the code"
    )
    lines.append("  deps:")
    lines.append("    enabled: true")
    if stack.lock_files:
        lines.append("    # Lock files found (the check finds them itself, and any added later):")
        for lock in stack.lock_files:
            lines.append(f"    #   {clean(lock)} ({LOCK_FILES[PurePosixPath(lock).name]})")
    else:
        lines.append("    # No lock file found: commit the one your package manager writes.")
    lines.append("  secrets:")
    lines.append("    enabled: true")
    if stack.build_folders:
        from gate.config.yamlpos import load_file

        preset_build = load_file(preset_path(preset)).data["checks"]["secrets"]["sources"]["build"]
        detected = [str(g.value) for g in stack.build_folders]
        build = detected + [b for b in preset_build if b not in detected]
        frameworks = ", ".join(sorted({clean(g.source) for g in stack.build_folders}))
        lines.append("    sources:")
        lines.append(f"      # Build output scanned after a build: {', '.join(detected)} first (from {frameworks},")
        lines.append("      # where the framework builds: likely), then the preset's usual folders.")
        lines.append(f"      build: [{', '.join(quote(b) for b in build)}]")
    if hosting.domains:
        domain = hosting.domains[0]
        lines.append("  dns:")
        lines.append("    # Turn on once the domain serves the app: records, e-mail auth, takeover.")
        lines.append("    enabled: false")
        lines.append(f"    domain: {quote(str(domain.value))}  # from {clean(domain.source)} ({domain.confidence})")
    lines += _http_section(found, ())
    for note in found.notes:
        lines.append(f"# note: {clean(note, 160)}")
    return "\n".join(lines) + "\n" + preset_reference(preset) + FOOTER


def render_manifest(draft: EnvDraft) -> str:
    lines = [
        "# env.manifest.yml drafted by `gate init`: which variables each environment needs.",
        "# Types and secrecy are guesses from names and example values (no value is copied here);",
        "# `required: false` marks a variable read in code but absent from every example file.",
        "environments: [development, preview, production]",
    ]
    if not draft.variables:
        return "\n".join([*lines, "variables: {}  # none found in .env files or code"]) + "\n"
    lines.append("variables:")
    for variable in sorted(draft.variables.values(), key=lambda v: v.name):
        fields = [f"type: {variable.type}"]
        if variable.secret:
            fields.append("secret: true")
        if not variable.required:
            fields.append("required: false")
        where = ", ".join(clean(s, 60) for s in variable.sources)
        why = "; ".join(dict.fromkeys(variable.why)) or "no hint in name or example"
        lines.append(f"  {variable.name}: {{{', '.join(fields)}}}  # {where} (guess: {clean(why, 100)})")
    return "\n".join(lines) + "\n"


def validate_outputs(root: Path, config_text: str, manifest_text: str) -> None:
    """Load both files exactly as `gate run` will; a mistake here is the gate's own (exit 3)."""
    from gate.checks import config_schemas
    from gate.checks.env.manifest import parse_manifest
    from gate.config import load_config
    from gate.config.yamlpos import load_file

    with tempfile.TemporaryDirectory(prefix="gate-init-") as scratch:
        config_path = Path(scratch) / "gate.yml"
        config_path.write_text(config_text)
        manifest_path = Path(scratch) / "env.manifest.yml"
        manifest_path.write_text(manifest_text)
        try:
            load_config(config_path, check_schemas=config_schemas(), scan_root=root)
            parse_manifest(load_file(manifest_path))
        except (InputError, InputErrors) as error:
            raise CheckFailure(
                f"gate init drafted a file the gate itself rejects, so nothing was written: {error.render()}"
            ) from error


@dataclass(frozen=True)
class Planned:
    path: Path
    text: str
    why: str


def plan(root: Path, config_target: Path, found: Detected, preset: str, workflows: Sequence[Workflow]) -> list[Planned]:
    config_text = render_config(found, preset)
    manifest_text = render_manifest(found.env)
    validate_outputs(root, config_text, manifest_text)
    return [
        Planned(config_target, config_text, "budgets and what was detected"),
        Planned(root / "env.manifest.yml", manifest_text, f"{len(found.env.variables)} variables"),
        *[Planned(root / w.path, w.text, w.why) for w in workflows],
    ]


def write_plan(planned: Sequence[Planned], *, force: bool) -> list[Planned]:
    """gate.yml is never overwritten without force (an error, nothing written); another file that
    exists is kept and left out. Every target is checked before the first file is written."""
    exists = [p for p in planned if p.path.exists() or p.path.is_symlink()]
    if exists and not force and exists[0] is planned[0]:
        raise InputError(
            f"{exists[0].path} already exists", Position(exists[0].path), hint="pass --force to overwrite it"
        )
    kept = [] if force else exists
    for item in planned:
        if item in kept:
            continue
        if item.path.is_symlink():
            item.path.unlink()
        item.path.parent.mkdir(parents=True, exist_ok=True)
        item.path.write_text(item.text)
    return kept


def write_init(target: Path, preset: str, *, force: bool) -> None:
    write_plan([Planned(target, render_init(preset), "preset defaults")], force=force)
