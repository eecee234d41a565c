"""An ASGI app for the http check's flows: login, authenticated and role-restricted routes, fast,
slow and flaky reads, streams that finish and one that stalls, a rate-limited and an unlimited
auth route. Deterministic: /flaky fails every fifth request, /reset answers 429 from its sixth,
/locked sends x-account-locked from its fourth."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any
from urllib.parse import parse_qs

from tests.support.load_app import Receive, Scope, Send, _body, _events, _respond, _stream

USER_TOKEN = "user-token-5f1c2a9e8b7d"
ADMIN_TOKEN = "admin-token-0a9b8c7d6e5f"
REFRESHED = "user-token-refreshed-77aa"
SESSION = "sess-3c2b1a0f9e8d7c6b"
_flaky = itertools.count()
_capacity: asyncio.Semaphore | None = None
_resets = itertools.count()
_lockouts = itertools.count()


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    headers = dict(scope["headers"])
    bearer = headers.get(b"authorization", b"").decode()
    token = bearer.removeprefix("Bearer ")
    signed_in = token in (USER_TOKEN, ADMIN_TOKEN, REFRESHED)
    # Every answer takes a few milliseconds, not zero: the load client then idles between
    # answers instead of setting the pace, which it would rightly refuse to judge through.
    await asyncio.sleep(0.005)
    if path in ("/", "/fast"):
        await _respond(send, 200)
    elif path == "/slow":
        await asyncio.sleep(0.4)
        await _respond(send, 200)
    elif path == "/flaky":
        await _respond(send, 500 if next(_flaky) % 5 == 4 else 200)
    elif path == "/login":
        fields = json.loads(await _body(receive) or b"{}")
        if fields.get("password") == "correct horse":
            token = ADMIN_TOKEN if fields.get("email") == "admin@example.com" else USER_TOKEN
            await _respond(send, 200, _json({"data": {"access_token": token, "refresh_token": "r-" + token}}))
        else:
            await _respond(send, 401, _json({"error": "bad credentials", "echo": fields.get("password")}))
    elif path == "/login-form":
        fields = parse_qs((await _body(receive)).decode())
        if fields.get("password") == ["correct horse"]:
            await _respond(send, 204, b"", [(b"set-cookie", f"session={SESSION}; Path=/; HttpOnly".encode())])
        else:
            await _respond(send, 401, b"no")
    elif path == "/cookie-me":
        await _respond(send, 200 if headers.get(b"cookie", b"") == f"session={SESSION}".encode() else 401)
    elif path == "/broken-auth":
        # Crashes on a missing token instead of refusing.
        has_session = headers.get(b"cookie", b"") == f"session={SESSION}".encode()
        await _respond(send, 200 if signed_in or has_session else 500)
    elif path == "/capacity":
        # Two requests at a time take 20 ms each; more queue, like a small worker pool.
        global _capacity
        _capacity = _capacity or asyncio.Semaphore(2)
        async with _capacity:
            await asyncio.sleep(0.02)
        await _respond(send, 200)
    elif path == "/refresh":
        fields = json.loads(await _body(receive) or b"{}")
        ok = fields.get("refresh_token") == "r-" + USER_TOKEN
        await _respond(send, 200 if ok else 401, _json({"data": {"access_token": REFRESHED}} if ok else {}))
    elif path == "/me":
        await _respond(send, 200 if signed_in else 401)
    elif path == "/refreshed-only":
        await _respond(send, 200 if token == REFRESHED else 401)
    elif path == "/leaky":
        # Authenticated in the UI only: serves anyone.
        await _respond(send, 200, b"everyone's data")
    elif path == "/admin/users":
        # Checks that a token is valid, not whose it is.
        await _respond(send, 200 if signed_in else 401)
    elif path == "/admin/audit":
        await _respond(send, 200 if token == ADMIN_TOKEN else (403 if signed_in else 401))
    elif path == "/reset":
        await _respond(send, 429 if next(_resets) >= 5 else 200)
    elif path == "/locked":
        # Some stacks lock the account and say so in a header instead of answering 429.
        locked = [(b"x-account-locked", b"1")] if next(_lockouts) >= 3 else []
        await _respond(send, 200, b"", locked)
    elif path == "/otp":
        await _respond(send, 200)
    elif path == "/chat":
        await _stream(send, b"text/event-stream", _events(4, 0.02))
    elif path == "/chat-stall":
        await _stream(send, b"text/event-stream", [*_events(2, 0.01), (3.0, b"data: late\n\n")])
    else:
        await _respond(send, 404, b"not found")
