"""The demo's secrets: a key committed then deleted, a key shipped in a build bundle, and a
reviewed test key silenced in source.

Keys are assembled at run time from seeded random characters, so no provider-shaped key is
stored in this repository.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ALNUM = string.ascii_letters + string.digits


def _fake(prefix: str, length: int, seed: str, alphabet: str = ALNUM) -> str:
    generator = random.Random(seed)
    return prefix + "".join(generator.choice(alphabet) for _ in range(length))


def plant(root: Path, stack: contextlib.ExitStack) -> Mapping[str, Any]:
    from gate.demo import git

    stripe = _fake("sk_" + "live_", 40, "demo-stripe")
    sendgrid = _fake("SG" + ".", 22, "demo-sg1", ALNUM + "_-") + _fake(".", 43, "demo-sg2", ALNUM + "_-")
    test_key = _fake("AK" + "IA", 16, "demo-aws", string.ascii_uppercase + string.digits)

    payments = root / "src" / "payments.py"
    payments.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("git") is not None:
        # The founder's first version hard-coded the key; the fix came one commit later.
        payments.write_text(f'import stripe\n\nstripe.api_key = "{stripe}"\n')
        git(root, "add", "src/payments.py")
        git(root, "commit", "-q", "--no-gpg-sign", "-m", "Take payments")
    payments.write_text('import os\n\nimport stripe\n\nstripe.api_key = os.environ["STRIPE_SECRET_KEY"]\n')

    mail_source = f'export const mailer = new Mailer({{ apiKey: "{sendgrid}" }});\n'
    source_map = {
        "version": 3,
        "sources": ["webpack://demo/./src/lib/mail.ts"],
        "sourcesContent": [mail_source],
        "mappings": "AAAA",
    }
    bundle = root / "dist" / "assets" / "index-4f2a9c.js"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_text(
        '!function(){"use strict";' + "var e=1;" * 200 + f'const m={{apiKey:"{sendgrid}"}};window.m=m}}();\n'
        "//# sourceMappingURL=index-4f2a9c.js.map\n"
    )
    (bundle.parent / "index-4f2a9c.js.map").write_text(json.dumps(source_map))
    (root / ".gitignore").write_text("dist/\n")

    tests = root / "tests" / "test_signing.py"
    tests.parent.mkdir(parents=True, exist_ok=True)
    tests.write_text(
        f'AWS_KEY = "{test_key}"  # gate: allow revoked key; the request-signing test needs a real shape\n'
    )
    return {"checks": {"secrets": {"enabled": True, "sources": {"history": True, "build": ["dist"]}}}}
