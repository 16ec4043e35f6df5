"""OpenID Connect sign-in against a small identity provider of our own on loopback
(discovery, authorize, token with PKCE), over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from agents.web import oidc
from tests.integration.web_server import free_port
from tests.web.kit import client, make_web


def _jwt(claims: dict[str, Any]) -> str:
    def part(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


class Idp:
    """Signs in whoever ``user`` names, with ``claims`` added to the ID token."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.codes: dict[str, dict[str, Any]] = {}
        self.user = "olga"
        self.claims: dict[str, Any] = {}
        self.issuer = self.url

    async def config(self, request: Request) -> Response:
        return JSONResponse({"issuer": self.url, "authorization_endpoint": f"{self.url}/auth",
                             "token_endpoint": f"{self.url}/token"})  # fmt: skip

    async def auth(self, request: Request) -> Response:
        q = request.query_params
        code = f"code-{len(self.codes)}"
        self.codes[code] = dict(q)
        back = urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(f"{q['redirect_uri']}?{back}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        asked = self.codes.pop(str(form["code"]))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(str(form["code_verifier"]).encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != asked["code_challenge"] or form["client_secret"] != "s3cret":
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        claims = {"iss": self.issuer, "aud": "carepath", "exp": time.time() + 300,
                  "nonce": asked["nonce"], "sub": "u-1", "preferred_username": self.user,
                  **self.claims}  # fmt: skip
        return JSONResponse({"id_token": _jwt(claims), "token_type": "Bearer"})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self.config),
            Route("/auth", self.auth),
            Route("/token", self.token, methods=["POST"]),
        ])  # fmt: skip


@pytest.fixture
def idp() -> Iterator[Idp]:
    provider = Idp()
    server = uvicorn.Server(uvicorn.Config(provider.app(), port=provider.port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    oidc._discovery.clear()
    yield provider
    server.should_exit = True
    thread.join(10)


def _sign_in(tmp_path: Path, idp: Idp) -> tuple[Any, httpx.Response]:
    web = make_web(tmp_path, oidc_issuer=idp.url, oidc_client_id="carepath",
                   oidc_client_secret="s3cret")  # fmt: skip
    c = client(web)
    assert 'id="oidc-login"' in c.get("/login").text
    start = c.get("/auth/oidc?next=/audit", follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"].startswith(f"{idp.url}/auth?")
    asked = parse_qs(urlparse(start.headers["location"]).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["scope"] == ["openid profile"]
    back = httpx.get(start.headers["location"], follow_redirects=False)
    return c, c.get(back.headers["location"].removeprefix("http://testserver"))


def test_oidc_sign_in_with_role_claim(tmp_path: Path, idp: Idp) -> None:
    idp.claims = {"carepath_role": "supervisor"}
    c, r = _sign_in(tmp_path, idp)
    assert r.status_code == 200 and 'url=/audit"' in r.text
    page = c.get("/audit")
    assert page.status_code == 200 and "olga" in page.text and "(supervisor)" in page.text


def test_oidc_local_user_gives_the_role(tmp_path: Path, idp: Idp) -> None:
    idp.user = "alice"  # a local case manager
    c, r = _sign_in(tmp_path, idp)
    assert r.status_code == 200
    assert "(case-manager)" in c.get("/").text


def test_oidc_refusals(tmp_path: Path, idp: Idp) -> None:
    idp.user = "stranger"  # no role claim, no local user
    _, r = _sign_in(tmp_path / "a", idp)
    assert r.status_code == 403 and "no carepath role" in r.text
    idp.claims = {"carepath_role": "reader"}
    idp.issuer = "https://evil.example"
    _, r = _sign_in(tmp_path / "b", idp)
    assert r.status_code == 403 and "another issuer" in r.text
    web = make_web(tmp_path / "c", oidc_issuer=idp.url, oidc_client_id="carepath")
    forged = client(web).get("/auth/oidc/callback?code=x&state=y")
    assert forged.status_code == 403


def test_oidc_off_by_default(tmp_path: Path) -> None:
    c = client(make_web(tmp_path))
    assert "oidc-login" not in c.get("/login").text
    assert c.get("/auth/oidc").status_code == 404
