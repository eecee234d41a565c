"""Loading gate.yml: parse with positions, merge over the preset, validate, and only then run."""

from __future__ import annotations

import copy
import datetime
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.config import paths
from gate.config import schema as schema_mod
from gate.config.paths import inside
from gate.config.source import WORKING_TREE, PolicySource
from gate.config.yamlpos import Located, load_file, load_text
from gate.errors import InputError, InputErrors, Position
from gate.model import Suppression
from gate.rules_data import rules_dir

log = logging.getLogger(__name__)
CONFIG_NAMES = ("gate.yml", "gate.yaml", ".gate.yml")
DEFAULT_PRESET = "launch"


def preset_names() -> list[str]:
    return sorted(path.stem for path in (rules_dir() / "presets").glob("*.yml"))


def preset_path(name: str) -> Path:
    return rules_dir() / "presets" / f"{name}.yml"


def full_schema(check_schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """`check_schemas` (gate.checks.config_schemas()): the caller's checks, so config never imports them."""
    return schema_mod.build_schema(check_schemas, preset_names())


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` wins; mappings merge key by key; lists and scalars are replaced whole."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True)
class Override:
    """A value set from the command line, e.g. `gate check secrets --history`."""

    check: str
    key: str
    value: Any
    flag: str


@dataclass(frozen=True)
class Config:
    data: Mapping[str, Any]
    preset: str
    root: Path
    path: Path | None
    suppressions: tuple[Suppression, ...]
    # Where gate.yml and the baselines were read: in a pull request, its base commit.
    policy: PolicySource = WORKING_TREE
    # The parsed gate.yml with the position of each key, for findings about what it declares.
    document: Located | None = None

    def section(self, check: str) -> Mapping[str, Any]:
        checks: Mapping[str, Mapping[str, Any]] = self.data.get("checks", {})
        return checks.get(check, {})

    def enabled_checks(self, registered: Iterable[str]) -> list[str]:
        """The enabled ones among `registered`, in its order (the order reports list checks)."""
        return [name for name in registered if self.section(name).get("enabled", False)]

    def run_timeout(self) -> float:
        from gate.config.units import seconds

        return seconds(self.data.get("run", {}).get("timeout", "15m"))


def find_config(start: Path, policy: PolicySource = WORKING_TREE) -> Path | None:
    for name in CONFIG_NAMES:
        candidate = start / name
        # Anything by that name counts: a FIFO or device must be refused by the loader, not
        # skipped in favour of the preset's defaults.
        found = (
            (candidate.exists() and not candidate.is_dir()) if not policy.pinned else policy.read(candidate) is not None
        )
        if found:
            return candidate
    return None


def _load_doc(path: Path, policy: PolicySource) -> Located | None:
    """gate.yml from the policy's source; None when a pinned commit has none (preset defaults)."""
    if not policy.pinned:
        return load_file(path)
    raw = policy.read(path)
    if raw is None:
        return None
    try:
        return load_text(raw.decode("utf-8"), path)
    except UnicodeDecodeError as error:
        raise InputError(f"file is not UTF-8 at {policy.describe()} (byte {error.start})", Position(path)) from None


def _raise_if(errors: Sequence[InputError]) -> None:
    if errors:
        raise InputErrors(list(errors))


def _pick_preset(requested: str | None, doc: Located | None) -> str:
    names = preset_names()
    if requested is not None:
        if requested not in names:
            guess = schema_mod._suggest(requested, names)
            raise InputError(
                f"unknown preset '{requested}'; expected one of: {', '.join(names)}",
                Position("--preset"),
                hint=f"did you mean '{guess}'?" if guess else None,
            )
        return requested
    if doc is not None and isinstance(doc.data, dict) and "preset" in doc.data:
        return str(doc.data["preset"])
    return DEFAULT_PRESET


def _suppressions(entries: list[Mapping[str, Any]], source: str) -> tuple[Suppression, ...]:
    return tuple(
        Suppression(
            reason=entry["reason"],
            fingerprint=entry.get("fingerprint"),
            rule=entry.get("rule"),
            path=entry.get("path"),
            expires=datetime.date.fromisoformat(entry["expires"]) if "expires" in entry else None,
            reviewed_by=entry.get("reviewed_by"),
            source=source,
        )
        for entry in entries
    )


_GLOB = re.compile(r"[*?\[]")


def _broad_suppressions(doc: Located) -> list[InputError]:
    """Suppressions whose rule glob does not start with a check's name: they hide whatever any
    check finds, including its own "could not look", which no reviewer can have meant."""
    entries = doc.data.get("suppressions", []) if isinstance(doc.data, dict) else []
    problems = []
    for index, entry in enumerate(entries):
        rule = entry.get("rule") if isinstance(entry, Mapping) else None
        glob = _GLOB.search(rule) if isinstance(rule, str) else None
        if rule is None or glob is None:
            continue
        check = rule[: glob.start()].partition(".")
        if check[0] and check[1]:
            continue
        problems.append(
            InputError(
                f"suppressions[{index}].rule '{rule}' matches the rules of every check, so it would hide "
                "anything the gate finds",
                doc.position(("suppressions", index, "rule")),
                hint="name the rule (secrets.private-key), or at widest one check's rules (secrets.*), "
                "and add a fingerprint or path for what was reviewed",
            )
        )
    return problems


def _apply_overrides(data: dict[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    for override in overrides:
        section = data.setdefault("checks", {}).setdefault(override.check, {})
        *parents, leaf = override.key.split(".")
        for parent in parents:
            section = section.setdefault(parent, {})
        section[leaf] = override.value
    return data


def load_config(
    path: Path | None,
    *,
    check_schemas: Mapping[str, Mapping[str, Any]],
    preset: str | None = None,
    overrides: Sequence[Override] = (),
    search_from: Path | None = None,
    policy: PolicySource = WORKING_TREE,
    scan_root: Path | None = None,
) -> Config:
    """Load, merge and validate; raises `InputErrors` naming every mistake at once.

    The project root is `scan_root` (default: `search_from` or the working directory), with
    `project.root` below it; never the config file's folder, which may be anywhere.
    """
    schema = full_schema(check_schemas)
    if path is None:
        path = find_config(search_from or Path.cwd(), policy)
    doc = _load_doc(path, policy) if path is not None else None
    if doc is not None:
        if not isinstance(doc.data, dict):
            raise InputError("gate.yml must be a mapping of keys at the top level", Position(doc.path, 1, 1))
        _raise_if(schema_mod.validate(doc, schema))
        _raise_if(_broad_suppressions(doc))
    chosen = _pick_preset(preset, doc)
    preset_doc = load_file(preset_path(chosen))
    _raise_if(schema_mod.validate(preset_doc, schema))
    merged = deep_merge(preset_doc.data, doc.data if doc else {})
    merged["preset"] = chosen
    merged = _apply_overrides(merged, overrides)
    if overrides:
        flagged = Located(data=merged, path=Path("<command line>"))
        problems = schema_mod.validate(flagged, schema)
        for problem in problems:
            problem.position = None
            problem.message = f"command-line option: {problem.message}"
        _raise_if(problems)
    root = scan_root or search_from or Path.cwd()
    project_root = merged.get("project", {}).get("root")
    if project_root:
        if not inside(root, project_root):
            raise InputError(
                f"project root {project_root} resolves outside {root.resolve()} (through a symlink)",
                doc.position(("project", "root")) if doc else None,
                hint=paths.PATH_HINT,
            )
        root = root / project_root
    if not root.is_dir():
        raise InputError(
            f"project root {root} is not a directory",
            doc.position(("project", "root")) if doc else None,
        )
    log.info("config %s, preset %s, project root %s", path or "(none)", chosen, root.resolve())
    return Config(
        data=merged,
        preset=chosen,
        root=root.resolve(),
        path=path,
        suppressions=_suppressions(
            doc.data.get("suppressions", []) if doc else [], str(path.name if path else "gate.yml")
        ),
        policy=policy,
        document=doc,
    )


def policy_changes(base: Config, head: Config | InputError) -> list[str]:
    """What a pull request changes in the policy that judged it (read from its base commit):
    shown in the report, in force only once merged."""
    name = base.path.name if base.path else "gate.yml"
    later = "takes effect once merged"
    if isinstance(head, InputError):
        return [f"this pull request's {name} is not valid ({head}); the base commit's policy judged it"]
    notes = []
    before = {suppression.describe(): suppression for suppression in base.suppressions}
    after = {suppression.describe(): suppression for suppression in head.suppressions}
    for key in after.keys() - before.keys():
        notes.append(f'this pull request adds suppression {key} ("{after[key].reason}"): {later}')
    for key in before.keys() - after.keys():
        notes.append(f"this pull request removes suppression {key}: {later}")
    changed = _changed_keys(base.data, head.data)
    if changed:
        shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
        notes.append(f"this pull request changes {name} ({shown}): {later}")
    return sorted(notes)


def _changed_keys(before: Any, after: Any, where: str = "") -> list[str]:
    """Dotted keys whose values differ (suppressions, listed one by one, left out)."""
    if not (isinstance(before, Mapping) and isinstance(after, Mapping)):
        return [] if before == after else [where]
    changes: list[str] = []
    for key in sorted(set(before) | set(after)):
        if where or key != "suppressions":
            changes += _changed_keys(before.get(key), after.get(key), f"{where}.{key}" if where else str(key))
    return changes
