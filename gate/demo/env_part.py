"""The demo's environment: a manifest, .env files and code with planted problems."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST = """\
# Which variables each environment needs; `gate check env` holds the .env files to it.
environments: [development, preview, production]
variables:
  DATABASE_URL:
    type: url
    secret: true
  API_BASE_URL:
    type: https-url
  STRIPE_SECRET_KEY:
    secret: true
    required: [production]
  NEXT_PUBLIC_STRIPE_SECRET_KEY:
    required: false
  SENTRY_DSN:
    type: https-url
    required: [production]
  PORT:
    type: port
    required: false
"""

# Fake values in the shapes real providers use, so the rules see what they would see in a leak.
ENV_DEVELOPMENT = """\
DATABASE_URL=postgres://app:devpassword@localhost:5432/app
API_BASE_URL=https://localhost:3000
PORT=3000
"""

ENV_PRODUCTION = """\
DATABASE_URL=postgres://app:Pr0dDbPassw0rd@localhost:5432/app
API_BASE_URL=api.example.com
STRIPE_SECRET_KEY=sk_test_51DemoKeyDemoKeyDemoKey00
NEXT_PUBLIC_STRIPE_SECRET_KEY=sk_live_51DemoLiveDemoLiveDemo99
PORT=8080
PORT=80
"""

SERVER_CODE = """\
import { Pool } from "pg";

const pool = new Pool({ connectionString: process.env.DATABASE_URL });
const cache = process.env.REDIS_URL;
export const api = process.env.API_BASE_URL;
"""


def plant(root: Path, stack: contextlib.ExitStack) -> Mapping[str, Any]:
    (root / "env.manifest.yml").write_text(MANIFEST)
    (root / ".env").write_text(ENV_DEVELOPMENT)
    (root / ".env.production").write_text(ENV_PRODUCTION)
    (root / "src").mkdir(exist_ok=True)
    (root / "src" / "server.ts").write_text(SERVER_CODE)
    return {"checks": {"env": {"enabled": True, "manifest": "env.manifest.yml"}}}
