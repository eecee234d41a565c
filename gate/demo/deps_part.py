"""The demo's dependencies: a Python API that pins Jinja 2.10, audited offline.

The demo must run without a network, so it plants its own OSV database: one real advisory,
PYSEC-2019-217 (CVE-2019-10906, GHSA-462w-v97r-4m45, the str.format_map sandbox escape fixed in
Jinja 2.10.1), written from the facts the PyPA advisory database and NVD publish for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REQUIREMENTS = """\
# The API's pinned dependencies (pip-compile output).
flask==3.0.3
jinja2==2.10
itsdangerous==2.2.0
"""

# Facts: PyPA advisory database record PYSEC-2019-217; CVSS vector as scored by NVD for CVE-2019-10906.
ADVISORY = """\
id: PYSEC-2019-217
published: '2019-04-07T00:29:00Z'
modified: '2021-11-22T04:57:52.862665Z'
aliases:
- CVE-2019-10906
- GHSA-462w-v97r-4m45
details: In Pallets Jinja before 2.10.1, str.format_map allows a sandbox escape.
severity:
- type: CVSS_V3
  score: CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N
affected:
- package:
    name: jinja2
    ecosystem: PyPI
    purl: pkg:pypi/jinja2
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: '0'
    - fixed: 2.10.1
references:
- type: ADVISORY
  url: https://github.com/advisories/GHSA-462w-v97r-4m45
- type: ARTICLE
  url: https://palletsprojects.com/blog/jinja-2-10-1-released
"""


def plant(root: Path, stack: contextlib.ExitStack) -> Mapping[str, Any]:
    (root / "api").mkdir(exist_ok=True)
    (root / "api" / "requirements.txt").write_text(REQUIREMENTS)
    database = root / "osv-db" / "vulns" / "jinja2"
    database.mkdir(parents=True, exist_ok=True)
    (database / "PYSEC-2019-217.yaml").write_text(ADVISORY)
    return {"checks": {"deps": {"enabled": True, "osv_db": "osv-db"}}}
