"""Small sample projects the spine's tests share."""

from __future__ import annotations

from pathlib import Path

from tests.support.helpers import write_files

CLEAN_MANIFEST = """\
environments: [development, production]
variables:
  DATABASE_URL: {type: url, secret: true}
  API_BASE_URL: {type: https-url}
  PORT: {type: port, required: false}
  LOG_LEVEL: {type: enum, values: [debug, info, warning], required: [production]}
"""

CLEAN_FILES = {
    "gate.yml": "version: 1\npreset: launch\n",
    "env.manifest.yml": CLEAN_MANIFEST,
    # A committed URL password is reported even at a local host (at low severity); a clean project
    # commits only the default `app:app`.
    ".env": "DATABASE_URL=postgres://app:app@localhost:5432/app\nAPI_BASE_URL=https://localhost:3000\n",
    ".env.production": (
        "DATABASE_URL=postgres://app:app@db.internal-prod.example.com:5432/app\n"
        "API_BASE_URL=https://api.example.com\n"
        "LOG_LEVEL=info\n"
    ),
    "src/db.ts": "export const url = process.env.DATABASE_URL;\nconst { API_BASE_URL, PORT } = process.env;\n",
    "app/settings.py": "import os\nLOG_LEVEL = os.environ.get('LOG_LEVEL', 'info')\n",
}


def clean_project(root: Path) -> Path:
    return write_files(root, CLEAN_FILES)
