"""Detection from files alone: routes per stack and their class guesses, hosts, domains, env drafts."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.init.detect import ProjectFiles, detect_hosting, detect_stack
from gate.init.envdraft import draft_manifest
from gate.init.jstokens import tokenize
from gate.init.routes import Route, detect_routes
from tests.support.helpers import gate, write_files


def _routes(root: Path, files: dict[str, str]) -> dict[tuple[str, str], Route]:
    write_files(root, files)
    return {(r.method, r.path): r for r in detect_routes(ProjectFiles(root))}


def test_tokens_skip_comments_and_keep_strings_whole() -> None:
    code = "/* export function GET */ const a = 'x // not a comment'; // GET\nconst r = /a\\/b/g; x = `t${y}z`"
    texts = [(t.kind, t.text) for t in tokenize(code)]
    assert ("name", "GET") not in texts
    assert ("string", "x // not a comment") in texts
    assert ("string", "t") in texts and ("name", "g") not in texts


def test_next_app_router_methods_come_from_exports_only(tmp_path: Path) -> None:
    found = _routes(
        tmp_path,
        {
            "package.json": '{"dependencies": {"next": "14.2.3"}}',
            "src/app/api/a/route.ts": "// export function DELETE\nfunction h() {}\nexport { h as GET, h as PATCH }\n",
            "src/app/(shop)/api/b/route.js": "export const PUT = () => {}\nconst x = 'export function POST'\n",
            "pages/api/hello.ts": "export default (req, res) => { if (req.method === 'POST') res.end() }\n",
            "pages/api/index.ts": "export default (req, res) => res.end()\n",
        },
    )
    assert set(found) == {
        ("GET", "/api/a"),
        ("PATCH", "/api/a"),
        ("PUT", "/api/b"),
        ("POST", "/api/hello"),
        ("GET", "/api"),
    }
    assert found[("PATCH", "/api/a")].route_class == "write"


def test_express_fastify_flask_fastapi_and_openapi_routes(tmp_path: Path) -> None:
    found = _routes(
        tmp_path,
        {
            "server.js": (
                "const fastify = require('fastify')()\n"
                "fastify.get('/api/search', async () => [])\n"
                "fastify.post('/api/upload', async () => ({}))\n"
                "fastify.get('//other.example/x', async () => ({}))\n"
                "// app.get('/commented', ...)\n"
            ),
            "web.py": (
                "from flask import Flask, Blueprint\n"
                "app = Flask(__name__)\n"
                "bp = Blueprint('a', __name__, url_prefix='/admin')\n"
                "@app.route('/login', methods=['GET', 'POST'])\ndef login(): ...\n"
                "@bp.route('/users')\ndef users(): ...\n"
            ),
            "docs/openapi.yaml": "openapi: 3.0.0\npaths:\n  /v1/feed:\n    get:\n      responses:\n        '200':\n"
            "          content: {text/event-stream: {}}\n",
        },
    )
    assert found[("GET", "/api/search")].route_class == "heavy"
    assert found[("POST", "/login")].route_class == "auth" and found[("POST", "/login")].login
    assert found[("GET", "/admin/users")].admin
    assert found[("GET", "/v1/feed")].route_class == "stream"
    assert ("GET", "/commented") not in found and ("GET", "//other.example/x") not in found


def test_broken_python_and_json_are_skipped_not_fatal(tmp_path: Path) -> None:
    found = _routes(
        tmp_path, {"bad.py": "import fastapi\ndef (:\n", "openapi.json": "{not json", "ok.py": "import flask\n"}
    )
    assert found == {}


def test_hosts_and_domains(tmp_path: Path) -> None:
    write_files(tmp_path, {"fly.toml": 'app = "x"\n', "CNAME": "www.example.io\n", "public/CNAME": "app.vercel.app\n"})
    hosting = detect_hosting(ProjectFiles(tmp_path))
    assert hosting.platform and hosting.platform.value == "fly"
    assert [d.value for d in hosting.domains] == ["www.example.io"]


def test_stack_from_manifests_and_locks(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "web/package.json": '{"devDependencies": {"vite": "5"}, "dependencies": {"firebase": "10"}}',
            "web/pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
            "api/pyproject.toml": '[project]\nname = "a"\nversion = "0"\ndependencies = ["fastapi>=0.1"]\n',
            "api/uv.lock": "version = 1\n",
        },
    )
    stack = detect_stack(ProjectFiles(tmp_path))
    assert stack.names() == ["vite", "fastapi"]
    assert [g.value for g in stack.backends] == ["firebase"]
    assert {str(g.value) for g in stack.package_managers} == {"pnpm", "uv"}
    assert [g.value for g in stack.build_folders] == ["web/dist"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("API_BASE_URL=http://localhost:3000", "API_BASE_URL: {type: url}"),
        ("SMTP_PORT=587", "SMTP_PORT: {type: port}"),
        ("ENABLE_SIGNUP=true", "ENABLE_SIGNUP: {type: bool}"),
        ("SUPPORT_EMAIL=help@example.com", "SUPPORT_EMAIL: {type: email}"),
        ("WORKERS=4", "WORKERS: {type: int}"),
        (
            "STRIPE_SECRET_KEY=sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2",
            "STRIPE_SECRET_KEY: {type: non-empty, secret: true}",
        ),
        ("GITHUB_TOKEN=ghp_" + "A" * 36, "GITHUB_TOKEN: {type: non-empty, secret: true}"),
    ],
)
def test_env_draft_guesses_types_and_secrecy_without_copying_values(tmp_path: Path, line: str, expected: str) -> None:
    write_files(tmp_path, {".env.example": line + "\n"})
    from gate.init.write import render_manifest

    text = render_manifest(draft_manifest(ProjectFiles(tmp_path)))
    assert expected in text
    assert line.split("=", 1)[1] not in text


def test_dry_run_writes_nothing_and_existing_files_are_kept(tmp_path: Path) -> None:
    write_files(tmp_path, {".env.example": "A_URL=https://a.example\n", "env.manifest.yml": "variables: {}\n"})
    outcome = gate("init", "--dry-run", "--quiet", cwd=tmp_path)
    assert outcome.exit_code == 0 and "would write gate.yml" in outcome.stdout
    assert not (tmp_path / "gate.yml").exists() and (tmp_path / "env.manifest.yml").read_text() == "variables: {}\n"
    outcome = gate("init", "--quiet", cwd=tmp_path)
    assert (
        "kept env.manifest.yml" in outcome.stdout and (tmp_path / "env.manifest.yml").read_text() == "variables: {}\n"
    )
    assert gate("init", "--quiet", cwd=tmp_path).exit_code == 2
    assert gate("init", "--quiet", "--force", cwd=tmp_path).exit_code == 0
    assert "A_URL" in (tmp_path / "env.manifest.yml").read_text()


def test_template_keeps_the_preset_only_file(tmp_path: Path) -> None:
    outcome = gate("init", "--template", "--preset", "demo", cwd=tmp_path)
    assert outcome.exit_code == 0 and not (tmp_path / "env.manifest.yml").exists()
    assert "preset: demo" in (tmp_path / "gate.yml").read_text()
    shown = gate("init", "--template", "--dry-run", "--preset", "prototype", cwd=tmp_path)
    assert shown.exit_code == 0 and "preset: prototype" in shown.stdout
    assert "preset: demo" in (tmp_path / "gate.yml").read_text()


def test_express_routers_mounted_with_a_prefix(tmp_path: Path) -> None:
    found = _routes(
        tmp_path,
        {
            "src/server.ts": (
                "import express from 'express'\n"
                "import orders from './routes/orders'\n"
                "const users = require('./routes/users.js')\n"
                "const app = express()\n"
                "const adminRouter = express.Router()\n"
                "adminRouter.get('/stats', h)\n"
                "app.use('/api/orders', orders)\n"
                "app.use('/api/users/', users)\n"
                "app.use('/admin', adminRouter)\n"
                "app.get('/', h)\n"
            ),
            "src/routes/orders.ts": "import { Router } from 'express'\nconst router = Router()\nrouter.get('/', h)\n"
            "router.post('/:id/cancel', h)\nexport default router\n",
            "src/routes/users.js": "const r = require('express').Router()\nr.get('/me', h)\nmodule.exports = r\n",
        },
    )
    assert set(found) == {
        ("GET", "/api/orders"),
        ("POST", "/api/orders/:id/cancel"),
        ("GET", "/api/users/me"),
        ("GET", "/admin/stats"),
        ("GET", "/"),
    }
    assert found[("GET", "/admin/stats")].admin and found[("POST", "/api/orders/:id/cancel")].dynamic


def test_a_draft_the_gate_would_reject_is_an_internal_failure_and_nothing_is_written(tmp_path: Path) -> None:
    from gate.errors import CheckFailure
    from gate.init.write import validate_outputs

    with pytest.raises(CheckFailure, match="nothing was written"):
        validate_outputs(tmp_path, "version: 1\nchecks: {env: {bogus: 1}}\n", "variables: {}\n")
    with pytest.raises(CheckFailure):
        validate_outputs(tmp_path, "version: 1\n", "variables: {A: {type: nope}}\n")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_preset_stops_before_reading(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": '{"dependencies": {"next": "14"}}'})
    outcome = gate("init", "--quiet", "--preset", "scale", cwd=tmp_path)
    assert outcome.exit_code == 2 and "unknown preset 'scale'" in outcome.stderr
    assert "reading" not in outcome.stderr and not (tmp_path / "gate.yml").exists()
