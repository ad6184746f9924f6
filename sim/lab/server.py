"""Serving the policy lab: loopback by default, a token for any other address.

``siyu lab`` binds 127.0.0.1 unless told otherwise. On any other host the page is reachable by
others, so every request — pages, assets, the websocket — must carry the token: the address
printed at start (``?token=...``) sets a cookie, and anything without it gets 403. The token is
the one given (``--token``) or a fresh random one, printed once.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from nicegui import app, ui

from sim.lab.app import LabSettings, build_page

LOOPBACK = ("127.0.0.1", "localhost", "::1")
COOKIE = "siyu_lab_token"
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def needs_token(host: str) -> bool:
    """Whether serving on ``host`` requires a token (anything but loopback)."""
    return host not in LOOPBACK


def resolve_token(host: str, given: str | None) -> tuple[str | None, bool]:
    """(token, generated): the given token, a new one when ``host`` needs one, else None."""
    if given:
        return given, False
    if needs_token(host):
        return secrets.token_urlsafe(24), True
    return None, False


class TokenGuard:
    """ASGI middleware: let through only requests carrying the token (query or cookie)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    def _presented(self, scope: Scope) -> tuple[bool, bool]:
        """(allowed, from the query string)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if any(hmac.compare_digest(t, self.token) for t in query.get("token", [])):
            return True, True
        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookies.load(value.decode("latin-1"))
        morsel = cookies.get(COOKIE)
        return bool(morsel and hmac.compare_digest(morsel.value, self.token)), False

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        allowed, from_query = self._presented(scope)
        if not allowed:
            await _refuse(scope, receive, send)
            return
        if from_query and scope["type"] == "http":
            send = _with_cookie(send, self.token)
        await self.app(scope, receive, send)


def _with_cookie(send: Callable, token: str) -> Callable:
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            message = {**message, "headers": [*message.get("headers", []),
                                              (b"set-cookie", cookie.encode())]}  # fmt: skip
        await send(message)

    return sending


async def _refuse(scope: Scope, receive: Callable, send: Callable) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = b"siyu lab: a token is required; open the address siyu lab printed when it started\n"
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def address(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(root: Path, host: str, port: int, token: str | None = None, workers: int = 2) -> None:
    """Start the lab (blocks until stopped). Prints its address (with the token if any)."""
    token, generated = resolve_token(host, token)
    if token:
        app.add_middleware(TokenGuard, token=token)
    settings = LabSettings(root.resolve(), workers)
    print(f"siyu lab: {address(host, port, token)}", flush=True)
    if generated:
        print("(a token was generated for this address; anyone with it can use the lab)",
              flush=True)  # fmt: skip
    print(f"lab folder: {settings.root}", flush=True)
    ui.run(build_page(settings), host=host, port=port, reload=False, show=False,
           title="siyu policy lab", show_welcome_message=False, favicon="🧪")  # fmt: skip
