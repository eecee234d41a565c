"""The RFC 7208 test suite (from pyspf's sdist, see tests/contracts.py) turned into zone files nsd can serve."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml


def scenarios(path: Path) -> dict[str, dict[str, Any]]:
    """Every scenario of the suite by its description."""
    return {doc["description"]: doc for doc in yaml.safe_load_all(path.read_text()) if doc}


def _txt(value: str) -> str:
    data = value.encode()
    chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
    quoted = []
    for chunk in chunks:
        text = "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\{b:03d}" for b in chunk)
        quoted.append(f'"{text}"')
    return " ".join(quoted)


def _origin(name: str) -> str:
    return ".".join(name.lower().rstrip(".").split(".")[-2:])


def zones(*zonedata: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Zone file text per origin for one or more scenarios; SPF-type entries become TXT, as senders publish today."""
    records: dict[str, list[str]] = defaultdict(list)
    for name, entries in (item for data in zonedata for item in data.items()):
        owner = name.rstrip(".") + "."
        for entry in entries:
            if not isinstance(entry, dict):
                continue  # TIMEOUT markers: scenarios with them are not served
            ((rtype, value),) = entry.items()
            if rtype in ("SPF", "TXT"):
                line = f"{owner} 300 IN TXT {_txt(str(value))}"
            elif rtype == "MX":
                line = f"{owner} 300 IN MX {value[0]} {value[1].rstrip('.')}."
            elif rtype in ("PTR", "CNAME"):
                line = f"{owner} 300 IN {rtype} {str(value).rstrip('.')}."
            else:
                line = f"{owner} 300 IN {rtype} {value}"
            records[_origin(name)].append(line)
    texts = {}
    for origin, lines in records.items():
        head = [
            f"{origin}. 300 IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 300",
            f"{origin}. 300 IN NS ns.{origin}.",
        ]
        texts[origin] = "\n".join(head + lines) + "\n"
    return texts
