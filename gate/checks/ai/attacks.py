"""The attack battery: families of prompts from rules/ai/, expanded into the attempts one route gets.

Each prompt is sent as written and once per encoding its family lists (base64, leetspeak,
reversed), so a filter that only matches plain English is tested too. Prompts whose slots the
route cannot fill (no admin tool declared, no ingest slot) are left out, and said so.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gate.errors import InputError, Position
from gate.rules_data import rules_file

# Never resolvable (RFC 6761 .invalid): the gate only looks for it in answers.
EXFIL_HOST = "exfil.launch-gate.invalid"
EXFIL_URL = f"https://{EXFIL_HOST}/c"
_SLOT = re.compile(r"\{\{(\w+)\}\}")
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})


@dataclass(frozen=True)
class Attack:
    """One attempt: what the user says, and the document the route ingests (indirect family)."""

    family: str
    title: str
    number: int
    encoding: str
    prompt: str
    document: str | None = None

    @property
    def id(self) -> str:
        suffix = "" if self.encoding == "plain" else f"+{self.encoding}"
        return f"{self.family}.{self.number}{suffix}"


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    needs: str | None
    encodings: tuple[str, ...]
    prompts: tuple[tuple[str, str | None], ...]


def _fail(path: Path, message: str) -> InputError:
    return InputError(
        f"{path.name}: {message}", Position(str(path), 1, 1), hint="see docs/ai.md for the shape of rules/ai/"
    )


def _load(path: Path) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise _fail(path, f"cannot be read: {error}") from error
    if not isinstance(data, dict):
        raise _fail(path, "must be a mapping")
    return data


def load_encodings(path: Path | None = None) -> dict[str, str]:
    path = path or rules_file("ai", "encodings.yml")
    raw = _load(path).get("encodings")
    if not isinstance(raw, dict) or not all(isinstance(v, str) and "{{payload}}" in v for v in raw.values()):
        raise _fail(path, "encodings must map each name to a text holding {{payload}}")
    unknown = set(raw) - set(TRANSFORMS)
    if unknown:
        raise _fail(path, f"unknown encoding {sorted(unknown)[0]} (known: {', '.join(sorted(TRANSFORMS))})")
    return dict(raw)


def load_families(path: Path | None = None, encodings: Iterable[str] = ()) -> dict[str, Family]:
    path = path or rules_file("ai", "attacks.yml")
    raw = _load(path).get("families")
    if not isinstance(raw, dict) or not raw:
        raise _fail(path, "families must be a non-empty mapping")
    known = set(encodings)
    families: dict[str, Family] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("prompts"), list) or not spec["prompts"]:
            raise _fail(path, f"family {name} needs a non-empty prompts list")
        prompts: list[tuple[str, str | None]] = []
        for entry in spec["prompts"]:
            if isinstance(entry, str):
                prompts.append((entry, None))
            elif isinstance(entry, dict) and isinstance(entry.get("prompt"), str):
                document = entry.get("document")
                prompts.append((entry["prompt"], document if isinstance(document, str) else None))
            else:
                raise _fail(path, f"family {name}: a prompt is a string or a mapping with prompt (and document)")
        wanted = tuple(spec.get("encodings") or ())
        if not set(wanted) <= known:
            raise _fail(path, f"family {name} names an encoding encodings.yml does not define")
        families[name] = Family(name, str(spec.get("title", name)), spec.get("needs"), wanted, tuple(prompts))
    return families


def _fill(text: str, slots: Mapping[str, str]) -> str | None:
    if any(name not in slots for name in _SLOT.findall(text)):
        return None
    return _SLOT.sub(lambda match: slots[match.group(1)], text)


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _leetspeak(text: str) -> str:
    return text.translate(_LEET)


def _reversed(text: str) -> str:
    return text[::-1]


TRANSFORMS: dict[str, Callable[[str], str]] = {"base64": _base64, "leetspeak": _leetspeak, "reversed": _reversed}


def battery(
    families: Mapping[str, Family],
    encodings: Mapping[str, str],
    *,
    chosen: Sequence[str],
    slots: Mapping[str, str],
    ingest: bool,
) -> tuple[list[Attack], list[str]]:
    """The attempts for one route, in a stable order, and the families left out with the reason."""
    attacks: list[Attack] = []
    skipped: list[str] = []
    for name in chosen:
        family = families[name]
        if family.needs == "ingest" and not ingest:
            skipped.append(f"{name} (the route declares no ingest slot)")
            continue
        if family.needs and family.needs != "ingest" and family.needs not in slots:
            skipped.append(f"{name} (the route declares no {family.needs})")
            continue
        for number, (template, document_template) in enumerate(family.prompts, start=1):
            prompt = _fill(template, slots)
            document = _fill(document_template, slots) if document_template is not None else None
            if prompt is None or (document_template is not None and document is None):
                continue
            attacks.append(Attack(name, family.title, number, "plain", prompt, document))
            for encoding in family.encodings:
                wrapped = encodings[encoding].replace("{{payload}}", TRANSFORMS[encoding](prompt))
                attacks.append(Attack(name, family.title, number, encoding, wrapped, document))
    return attacks, skipped
