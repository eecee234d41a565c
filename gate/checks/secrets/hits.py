"""What a found secret is before it becomes a finding: a hit on a line, in a file, and the two
halves of one credential folded into one hit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gate.checks.secrets.detectors import Detector

# Lines longer than this are scanned in bounded windows (see scanner.py); the text a hit is found
# in, and a line read around it, is never longer.
MAX_LINE = 1024


@dataclass(frozen=True)
class LineHit:
    """A secret on one line, before the line's place in a file is known."""

    detector: int
    secret: str
    column: int


@dataclass(frozen=True)
class Hit:
    """A secret found in a text. Holds the raw value: it must never leave the secrets check."""

    detector: int
    secret: str
    line: int
    column: int
    silenced: str | None = None
    # What identifies the secret; differs from `secret` only for detectors with a `body` (private
    # keys), whose matched header is the same in every key: then it is the key body, its lines
    # joined with newlines.
    material: str = ""
    # The other half of one credential found near it (an AWS secret access key beside its key
    # id), folded into this hit: raw, like `secret`, and never shown.
    partner: str = ""
    partner_line: int = 0

    @property
    def identity(self) -> str:
        return self.material or self.secret


# (the key id's rule, its secret's rule): the two halves of one credential.
CREDENTIAL_PAIRS = (("secrets.aws-access-key", "secrets.aws-secret-access-key"),)


def paired(hits: Sequence[Hit], detectors: Sequence[Detector]) -> list[Hit]:
    """The hits of one file (or one file of one commit), each secret half of a credential folded
    into the nearest key id of its kind that has no partner yet: one credential, one finding."""
    out = list(hits)
    for id_rule, secret_rule in CREDENTIAL_PAIRS:
        ids = [i for i, h in enumerate(out) if detectors[h.detector].rule_id == id_rule]
        secrets = [i for i, h in enumerate(out) if detectors[h.detector].rule_id == secret_rule]
        if not ids or not secrets:
            continue
        dropped: set[int] = set()
        for secret_index in secrets:
            secret = out[secret_index]
            free = [i for i in ids if not out[i].partner]
            if not free:
                break
            nearest = min(free, key=lambda i: (abs(out[i].line - secret.line), out[i].line))
            out[nearest] = replace(out[nearest], partner=secret.identity, partner_line=secret.line)
            dropped.add(secret_index)
        out = [h for i, h in enumerate(out) if i not in dropped]
    return out


def paired_occurrences(occurrences: Sequence[Any], detectors: Sequence[Detector]) -> list[Any]:
    """The occurrences with the two halves of one credential, added in one file by one commit (or
    by the change), folded into one."""
    groups: dict[tuple[str | None, str], list[Any]] = {}
    for occurrence in occurrences:
        key = (occurrence.commit.sha if occurrence.commit else None, occurrence.path)
        groups.setdefault(key, []).append(occurrence)
    out: list[Any] = []
    for group in groups.values():
        hits = [o.hit for o in group]
        folded = paired(hits, detectors) if len(group) > 1 else hits
        out.extend(replace(group[0], hit=hit) for hit in folded)
    return out
