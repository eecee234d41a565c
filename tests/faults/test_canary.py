"""The secret canary: unique secrets planted in a repository (tree and history), `.env` files, a
mirror URL, the preview's served page and its bearer token and bypass secret; every check run
with every output format, GitHub reporting against the contract server and `-vv` logging; not
one byte the gate writes anywhere may carry a canary, raw, base64- or URL-encoded.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

from gate.report import FORMATS
from tests.faults.peers import TcpPeer, answer, dns_peer, tls_server
from tests.support.contracts import Contracts
from tests.support.github_server import ContractServer
from tests.support.helpers import git_repo

REPO = Path(__file__).resolve().parents[2]
HEAD = "5" * 40


def _canary(prefix: str) -> str:
    return f"{prefix}Canary{uuid.uuid4().hex}"


def forms(secret: str) -> Iterator[str]:
    """The secret and the encodings that would carry it past a plain-text search."""
    yield secret
    yield urllib.parse.quote(secret, safe="")
    yield urllib.parse.quote_plus(secret)
    raw = secret.encode()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        # Inside a longer encoded text the secret starts at any of three byte alignments; the
        # middle of each encoding is the same wherever it sits.
        for pad in range(3):
            yield encode(b"\0" * pad + raw).decode()[4:-4]


def test_no_canary_in_any_byte_the_gate_writes(tmp_path: Path, contracts: Contracts) -> None:
    canaries = {
        "github token": "ghs_" + uuid.uuid4().hex + uuid.uuid4().hex[:4],
        "public-prefixed key": _canary("sk_live_"),
        "production key": _canary("sk_live_"),
        "database password": _canary("Pw"),
        "dev .env secret": _canary("dev"),
        "committed token": _canary("ghp_"),
        "mirror password": _canary("mirror"),
        "preview bearer token": _canary("bearer"),
        "preview bypass secret": _canary("bypass"),
        "login password": _canary("login"),
        # Set by the preview on every answer: the gate's own session, in clear in every debug log
        # of the HTTP libraries unless their loggers go through the redactor.
        "preview session cookie": _canary("session"),
        "token in a preview URL": _canary("urltoken"),
        "key in the served page": "sk_live_" + uuid.uuid4().hex[:24],
    }
    manifest = (
        "environments: [development, production]\nvariables:\n"
        "  DATABASE_URL:\n    type: url\n    secret: true\n"
        "  STRIPE_SECRET_KEY:\n    secret: true\n    required: [production]\n"
        "  NEXT_PUBLIC_STRIPE_SECRET_KEY:\n    required: false\n"
    )
    context, ca = tls_server(tmp_path)
    page = f'<html><body><script>const stripe = "{canaries["key in the served page"]}";</script></body></html>'
    with (
        TcpPeer(
            answer(
                200,
                page.encode(),
                {
                    "Content-Type": "text/html",
                    "Set-Cookie": f"session={canaries['preview session cookie']}; Path=/; Secure; HttpOnly",
                },
            ),
            tls=context,
        ) as preview,
        TcpPeer(answer(500, b'{"message": "mirror exploded"}')) as osv,
        dns_peer("servfail") as (resolver, _),
        ContractServer(contracts.github_rest) as github,
    ):
        mirror = f"http://reader:{canaries['mirror password']}@127.0.0.1:{osv.port}/v1/query"
        workspace = git_repo(
            tmp_path / "workspace",
            [
                {
                    "gate.yml": (
                        "version: 1\nchecks:\n  env:\n    enabled: true\n"
                        f"  deps:\n    enabled: true\n    osv_url: {mirror}\n    request_timeout: 3s\n"
                        f"  dns:\n    enabled: true\n    domain: example.test\n    resolver: {resolver}\n"
                        "    query_timeout: 1s\n    retries: 0\n"
                        "  secrets:\n    enabled: true\n    sources: {tree: true, history: true}\n"
                        f"  http:\n    enabled: true\n    url: {preview.url}/\n    ca_bundle: {ca}\n"
                        "    auth_token_env: GATE_APP_TOKEN\n"
                        "    bypass_header: {name: x-vercel-protection-bypass, env: GATE_PREVIEW_BYPASS}\n"
                        "    routes: [{path: /api/me, auth: true},"
                        f" {{path: '/api/feed?token={canaries['token in a preview URL']}'}}]\n"
                        "    login: {path: /login, fields: {password: GATE_LOGIN_PASSWORD},"
                        " success: {cookie: session}}\n"
                        "    load: {requests: 5, warmup: 0}\n"
                        "    wait: {timeout: 2s, interval: 200ms}\n    limits: {timeout: 3s}\n"
                    ),
                    "env.manifest.yml": manifest,
                    ".env.production": (
                        f"DATABASE_URL=postgres://app:{canaries['database password']}@localhost:5432/app\n"
                        f"STRIPE_SECRET_KEY={canaries['production key']}\n"
                        f"NEXT_PUBLIC_STRIPE_SECRET_KEY={canaries['public-prefixed key']}\n"
                    ),
                    ".env": f"SESSION_SECRET={canaries['dev .env secret']}\n",
                    "src/config.ts": f'export const token = "{canaries["committed token"]}";\n'
                    "export const db = process.env.DATABASE_URL;\n",
                    "package-lock.json": json.dumps(
                        {"lockfileVersion": 3, "packages": {"node_modules/left-pad": {"version": "1.3.0"}}}
                    ),
                }
            ],
        )
        written: dict[str, bytes] = {}
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"ref": "refs/heads/main", "after": HEAD}))
        for fmt in FORMATS:
            out = tmp_path / "out" / fmt
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO),
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_EVENT_PATH": str(event),
                "GITHUB_REPOSITORY": "octo-org/app",
                "GITHUB_SHA": HEAD,
                "GITHUB_REF": "refs/heads/main",
                "GITHUB_RUN_ID": "9",
                "GITHUB_WORKSPACE": str(workspace),
                "GITHUB_STEP_SUMMARY": str(out / "summary.md"),
                "GITHUB_OUTPUT": str(out / "github_output.txt"),
                "GITHUB_API_URL": github.base_url,
                "INPUT_GITHUB-TOKEN": canaries["github token"],
                "GATE_APP_TOKEN": canaries["preview bearer token"],
                "GATE_PREVIEW_BYPASS": canaries["preview bypass secret"],
                "GATE_LOGIN_PASSWORD": canaries["login password"],
            }
            out.mkdir(parents=True)
            reports = [f"--output={kind}={out / ('report.' + kind)}" for kind in ("json", "sarif", "junit")]
            completed = subprocess.run(
                [sys.executable, "-m", "gate", "run", "-vv", "--format", fmt, *reports],
                cwd=workspace,
                env=env,
                capture_output=True,
                timeout=120,
                check=False,
            )
            # Blocking findings outrank the DNS check that could not finish: exit 1, not 3.
            assert completed.returncode == 1, completed.stderr.decode()
            written[f"{fmt}: stdout"] = completed.stdout
            written[f"{fmt}: stderr"] = completed.stderr
            written.update({f"{fmt}: {path.name}": path.read_bytes() for path in out.iterdir()})
        for index, request in enumerate(github.requests):
            written[f"request {index} {request.method} {request.path}"] = request.body.encode()
    # The run really went through every channel the search covers.
    assert {"console: report.sarif", "json: summary.md", "sarif: github_output.txt"} <= set(written)
    assert github.requests and osv.connections and preview.connections
    assert b"env.public-secret" in written["json: stdout"]
    rules = {f["rule_id"] for f in json.loads(written["json: stdout"])["findings"]}
    assert any(rule.startswith("secrets.") and rule != "secrets.unscanned" for rule in rules), rules
    leaks = [
        f"{what} ({form!r}) in {where}"
        for what, secret in canaries.items()
        for form in set(forms(secret))
        for where, data in written.items()
        if form.encode() in data
    ]
    assert not leaks, "\n".join(leaks)


def test_the_search_finds_a_canary_in_every_form_it_could_leak_in() -> None:
    secret = _canary("probe")
    carriers = [
        f"log: {secret}!",
        f"url?token={urllib.parse.quote(secret + '/+', safe='')}",
        *(
            encode(prefix + secret.encode() + b"tail").decode()
            for encode in (base64.b64encode, base64.urlsafe_b64encode)
            for prefix in (b"", b"a", b"ab", b"abc")
        ),
    ]
    for carrier in carriers:
        assert any(form in carrier for form in forms(secret)), carrier
