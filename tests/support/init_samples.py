"""Small projects on the stacks `gate init` is for, each a real git repository with lock files.

Each is what a founder's repo looks like after a week: a framework, a lock file with real pins,
an .env.example (one with a real-looking key committed by mistake), API routes of every class,
and the host's config file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from tests.support.helpers import git_repo

# Shaped like a live OpenAI project key; it must never reach a file gate init writes.
LEAKED_KEY = "sk-proj-" + "Q7fT2mW9xLr4Kp8VbN3cZ6hJ1sD5gY0aE"


def _npm_lock(name: str, pins: Mapping[str, str]) -> str:
    packages: dict[str, object] = {"": {"name": name, "dependencies": dict(pins)}}
    for package, version in pins.items():
        packages[f"node_modules/{package}"] = {
            "version": version,
            "resolved": f"https://registry.npmjs.org/{package}/-/{package.split('/')[-1]}-{version}.tgz",
        }
    return json.dumps({"name": name, "lockfileVersion": 3, "requires": True, "packages": packages}, indent=2)


def _package(name: str, pins: Mapping[str, str]) -> str:
    return json.dumps({"name": name, "private": True, "dependencies": dict(pins)}, indent=2)


NEXT_PINS = {"next": "14.2.3", "react": "18.2.0", "@supabase/supabase-js": "2.43.1"}
NEXTJS = {
    "package.json": _package("shop", NEXT_PINS),
    "package-lock.json": _npm_lock("shop", NEXT_PINS),
    "vercel.json": json.dumps({"redirects": [{"source": "/old", "destination": "https://shop.example.com/"}]}),
    ".env.example": (
        "NEXT_PUBLIC_SUPABASE_URL=https://abcd.supabase.co\n"
        "NEXT_PUBLIC_SUPABASE_ANON_KEY=\n"
        "SUPABASE_SERVICE_ROLE_KEY=your-service-role-key\n"
        f"OPENAI_API_KEY={LEAKED_KEY}\n"
    ),
    "app/page.tsx": "export default function Home() { return <main>Shop</main> }\n",
    "app/api/items/route.ts": (
        "import { createClient } from '@supabase/supabase-js'\n"
        "const db = createClient(process.env.NEXT_PUBLIC_SUPABASE_URL!, process.env.SUPABASE_SERVICE_ROLE_KEY!)\n"
        "// export async function DELETE() is not here: a comment is not a handler\n"
        "export async function GET() { return Response.json(await db.from('items').select()) }\n"
        "export const POST = async (req: Request) => Response.json(await db.from('items').insert(await req.json()))\n"
    ),
    "app/api/items/[id]/route.ts": "export async function GET() { return Response.json({}) }\n",
    "app/api/chat/route.ts": (
        "export async function POST(req: Request) {\n"
        "  const key = process.env.OPENAI_API_KEY\n"
        "  const stream = new ReadableStream({ start(c) { c.close() } })\n"
        "  return new Response(stream, { headers: { 'Content-Type': 'text/event-stream' } })\n}\n"
    ),
    "app/api/auth/login/route.ts": "export async function POST(req: Request) { return Response.json({ ok: true }) }\n",
    "app/(marketing)/api/health/route.ts": "export function GET() { return new Response('ok') }\n",
    "app/api/admin/users/route.ts": "export async function GET() { return Response.json([]) }\n",
}

VITE_PINS = {"vite": "5.2.11", "react": "18.2.0", "@supabase/supabase-js": "2.43.1"}
VITE_SUPABASE = {
    "package.json": _package("notes", VITE_PINS),
    "package-lock.json": _npm_lock("notes", VITE_PINS),
    "netlify.toml": (
        '[build]\ncommand = "npm run build"\npublish = "dist"\n\n'
        '[[redirects]]\nfrom = "https://notes.netlify.app/*"\nto = "https://notes.example.org/:splat"\n'
    ),
    ".env.example": "VITE_SUPABASE_URL=https://abcd.supabase.co\nVITE_SUPABASE_ANON_KEY=\n",
    "index.html": '<div id="root"></div><script type="module" src="/src/main.tsx"></script>\n',
    "src/lib/supabase.ts": (
        "import { createClient } from '@supabase/supabase-js'\n"
        "export const supabase = createClient(import.meta.env.VITE_SUPABASE_URL, "
        "import.meta.env.VITE_SUPABASE_ANON_KEY)\n"
    ),
    "src/main.tsx": "import { supabase } from './lib/supabase'\nconsole.log(supabase)\n",
}

EXPO_PINS = {"expo": "51.0.8", "react-native": "0.74.1"}
EXPRESS_PINS = {"express": "4.19.2", "jsonwebtoken": "9.0.2"}
EXPO_EXPRESS = {
    "mobile/package.json": _package("mobile", EXPO_PINS),
    "mobile/package-lock.json": _npm_lock("mobile", EXPO_PINS),
    "mobile/App.tsx": "const api = process.env.EXPO_PUBLIC_API_URL\nexport default function App() { return null }\n",
    "api/package.json": _package("api", EXPRESS_PINS),
    "api/package-lock.json": _npm_lock("api", EXPRESS_PINS),
    "api/src/index.js": (
        "const express = require('express')\n"
        "const app = express()\n"
        "const router = express.Router()\n"
        "app.get('/health', (req, res) => res.send('ok'))\n"
        "router.post('/api/login', (req, res) => res.json({ token: sign(req.body, process.env.JWT_SECRET) }))\n"
        "router.get('/api/orders', (req, res) => res.json([]))\n"
        "router.get(`/api/orders/${'id'}`, (req, res) => res.json({}))\n"
        "router.delete('/api/orders/:id', (req, res) => res.sendStatus(204))\n"
        "app.get('/api/events', (req, res) => {\n"
        "  res.setHeader('Content-Type', 'text/event-stream')\n"
        "  res.write('data: hi\\n\\n')\n"
        "})\n"
        "app.listen(process.env.PORT || 3000)\n"
    ),
    "render.yaml": (
        "services:\n  - type: web\n    name: orders-api\n    runtime: node\n"
        "    rootDir: api\n    domains:\n      - api.example.net\n"
    ),
    ".env.example": "EXPO_PUBLIC_API_URL=https://api.example.net\nJWT_SECRET=\nPORT=3000\n",
}

FASTAPI = {
    "requirements.txt": "fastapi==0.110.0\nuvicorn==0.29.0\n",
    "fly.toml": 'app = "todo-api"\nprimary_region = "ams"\n\n[http_service]\ninternal_port = 8000\n',
    ".env.example": "DATABASE_URL=postgresql://app:app@localhost:5432/todo\nJWT_SECRET=\nREQUEST_TIMEOUT=10s\n",
    "app/main.py": (
        "import os\n"
        "from fastapi import APIRouter, FastAPI\n"
        "from fastapi.responses import StreamingResponse\n\n"
        "app = FastAPI()\n"
        'router = APIRouter(prefix="/api")\n'
        'DATABASE_URL = os.environ["DATABASE_URL"]\n\n\n'
        '@app.get("/health")\n'
        "def health():\n"
        '    return {"ok": True}\n\n\n'
        '@router.post("/token")\n'
        "def token():\n"
        '    return {"access_token": os.getenv("JWT_SECRET")}\n\n\n'
        '@router.get("/todos")\n'
        "async def todos():\n"
        "    return []\n\n\n"
        '@router.get("/todos/{todo_id}")\n'
        "async def todo(todo_id: int):\n"
        "    return {}\n\n\n"
        '@router.post("/reports/export")\n'
        "async def export():\n"
        "    return {}\n\n\n"
        '@router.get("/events")\n'
        "async def events():\n"
        '    return StreamingResponse(iter(["data: x\\n\\n"]), media_type="text/event-stream")\n\n\n'
        "app.include_router(router)\n"
    ),
}

DJANGO = {
    "requirements.txt": "Django==4.2.11\ngunicorn==22.0.0\n",
    "railway.json": json.dumps({"deploy": {"startCommand": "gunicorn mysite.wsgi"}}),
    "CNAME": "store.example.com\n",
    ".env.example": "DJANGO_SECRET_KEY=\nDEBUG=false\nALLOWED_HOSTS=store.example.com\n",
    "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
    "mysite/__init__.py": "",
    "mysite/settings.py": (
        "import os\n"
        "SECRET_KEY = os.environ['DJANGO_SECRET_KEY']\n"
        "DEBUG = os.environ.get('DEBUG') == 'true'\n"
        "ALLOWED_HOSTS = os.environ.get('ALLOWED_HOSTS', '').split(',')\n"
        "ROOT_URLCONF = 'mysite.urls'\n"
    ),
    "mysite/wsgi.py": "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n",
    "mysite/urls.py": (
        "from django.contrib import admin\n"
        "from django.urls import include, path\n\n"
        "urlpatterns = [\n"
        '    path("admin/", admin.site.urls),\n'
        '    path("api/", include("shop.urls")),\n'
        "]\n"
    ),
    "shop/__init__.py": "",
    "shop/urls.py": (
        "from django.urls import path\n\nfrom shop import views\n\n"
        "urlpatterns = [\n"
        '    path("products/", views.products),\n'
        '    path("products/<int:pk>/", views.product),\n'
        '    path("login/", views.login),\n'
        "]\n"
    ),
    "shop/views.py": (
        "from django.http import JsonResponse\n\n\n"
        "def products(request):\n    return JsonResponse([], safe=False)\n\n\n"
        "def product(request, pk):\n    return JsonResponse({})\n\n\n"
        "def login(request):\n    return JsonResponse({})\n"
    ),
}

SAMPLES: dict[str, Mapping[str, str]] = {
    "nextjs": NEXTJS,
    "vite-supabase": VITE_SUPABASE,
    "expo-express": EXPO_EXPRESS,
    "fastapi": FASTAPI,
    "django": DJANGO,
}


def sample_project(root: Path, stack: str) -> Path:
    """The stack's sample as a repository with one commit, as `git clone` leaves it."""
    return git_repo(root, [dict(SAMPLES[stack])])
