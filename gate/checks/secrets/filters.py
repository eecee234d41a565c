"""False positives: detect-secrets' heuristic filters plus the gate's own (rules/secrets/filters.yml)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from gate.checks.secrets.detectors import Detector, filter_data, jwt_claims

_HEX = re.compile(r"[0-9a-fA-F]+")
_URL_HOST = re.compile(r"@\[?(?P<host>[^\s/:'\"@\]?#]{1,200})")
_URL_USER = re.compile(r"://([^:/@\s'\"]{1,100})\Z")


def _is_placeholder(secret: str) -> bool:
    data = filter_data()
    lowered = secret.lower()
    if secret in data.documented_examples or lowered in data.placeholder_values:
        return True
    if any(fragment in lowered for fragment in data.placeholder_fragments):
        return True
    # One repeated character (xxxxxxxx, 00000000), or a long run of one, is a mask, not a key.
    return len(set(secret.lstrip("-_."))) <= 2 or data.mask_run.search(secret) is not None


def _is_example_or_public_jwt(secret: str) -> bool:
    if not secret.startswith("eyJ"):
        return False
    claims = jwt_claims(secret)
    if claims is None:
        return False
    data = filter_data()
    return any(
        all(claims.get(key) == value for key, value in known.items())
        for known in (*data.example_jwt_payloads, *data.public_jwt_payloads)
    )


def _is_alphabet(secret: str) -> bool:
    steps = sum(1 for a, b in itertools.pairwise(secret) if ord(b) - ord(a) == 1)
    return len(secret) > 1 and steps >= filter_data().alphabet_share * (len(secret) - 1)


def _password_spots(secret: str, line: str) -> Iterator[int]:
    """Where `:secret@` starts on the line, leftmost first: what the URL tests below anchor on.

    Found with str.find: a regex built around each secret was compiled anew for nearly every
    one (a third of a dense history's scan)."""
    needle = ":" + secret + "@"
    at = line.find(needle)
    while at != -1:
        yield at
        at = line.find(needle, at + 1)


def _repeats_user(secret: str, line: str) -> bool:
    """`postgres://postgres:postgres@...`: a password equal to its user name is a default."""
    # The user runs back from the `:` to `://` (it holds neither `:` nor `/`), so the leftmost
    # `:secret@` with a user before it is the leftmost URL match.
    for at in _password_spots(secret, line):
        match = _URL_USER.search(line, 0, at)
        if match is not None:
            return match.group(1).lower() == secret.lower()
    return False


def is_local_url(secret: str, line: str) -> bool:
    """The password `secret` is in a URL to a local host or a domain reserved for documentation."""
    match = next(
        (found for at in _password_spots(secret, line) if (found := _URL_HOST.match(line, at + 1 + len(secret)))),
        None,
    )
    if not match:
        return False
    host = match.group("host").lower().rstrip(".")
    data = filter_data()
    return host in data.local_hosts or any(host == d or host.endswith("." + d) for d in data.reserved_domains)


def is_false_positive(detector: Detector, secret: str, line: str, path: str, column: int) -> bool:
    """detect-secrets' heuristic filters plus the gate's own (rules/secrets/filters.yml).

    detect-secrets applies its heuristics to every plugin; the gate applies the ones about code
    shape (indirect references, ids, lock files) only to generic detectors, because a provider
    key inside `dict(key="...")` is still a provider key.
    """
    from detect_secrets.filters import heuristic

    data = filter_data()
    if _is_placeholder(secret) or _is_example_or_public_jwt(secret):
        return True
    if heuristic.is_sequential_string(secret) or (heuristic.is_potential_uuid(secret) and not detector.uuid):
        return True
    if heuristic.is_templated_secret(secret) or heuristic.is_prefixed_with_dollar_sign(secret):
        return True
    if any(pattern.fullmatch(secret) for pattern in data.public_values):
        return True
    if detector.local is not None and _repeats_user(secret, line):
        return True
    if not detector.generic:
        return False
    if any(shape.fullmatch(secret) for shape in data.not_secret_shapes) or _is_alphabet(secret):
        return True
    lowered_line = line.lower()
    if any(name in lowered_line for name in data.public_names):
        return True
    # Cheapest tests first: each one alone can drop the hit, so their order changes no result.
    # A keyword finder reads `secret: true}` in a YAML flow mapping as the value `true}`.
    if secret.strip("{}[](),;'\"`").lower() in data.placeholder_values:
        return True
    if path.rsplit("/", 1)[-1] in data.lock_files or heuristic.is_lock_file(path):
        return True
    if heuristic.is_not_alphanumeric_string(secret):
        return True
    # The entropy finder's alphabet has `-`, so its value may hold the `sha384-` itself.
    before = line[max(0, column - 8) : column]
    if any(before.endswith(prefix) or secret.startswith(prefix) for prefix in data.integrity_prefixes):
        return True
    if (
        len(secret) in data.hash_lengths
        and _HEX.fullmatch(secret)
        and any(word in lowered_line for word in data.hash_words)
    ):
        return True
    if heuristic.is_likely_id_string(secret, line, detector.plugin):
        return True
    # detect-secrets' indirect-reference regex is slow on long lines and needs a bracket pair.
    return ("(" in line or "[" in line) and (")" in line or "]" in line) and heuristic.is_indirect_reference(line)
