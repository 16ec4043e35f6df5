"""Optional hospital single sign-on: OpenID Connect authorization code flow with PKCE.

On when ``CAREPATH_WEB_OIDC_ISSUER`` and ``CAREPATH_WEB_OIDC_CLIENT_ID`` are set. The
issuer's discovery document names its endpoints. ``/auth/oidc`` sends the browser there
with ``state``, ``nonce`` and an S256 code challenge (kept server-side for ten minutes and
bound to the browser by a cookie); ``/auth/oidc/callback`` exchanges the code at the token
endpoint (client secret and code verifier) and reads the ID token. The ID token comes
straight from the token endpoint over TLS, so its claims are checked (``iss``, ``aud``,
``exp``, ``nonce``) without a signature check, as OpenID Connect Core §3.1.3.7 allows for
this flow. The user is ``preferred_username`` (else ``sub``); the role is the
``CAREPATH_WEB_OIDC_ROLE_CLAIM`` claim when it names a role, else the role of the local
user of that name (``carepath users add``); with neither, the login is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.parse
import urllib.request
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from agents.web.accounts import NAME_RE, USER_ROLES, Principal
from agents.web.auth import SESSION_COOKIE, secure
from agents.web.service import Web

STATE_COOKIE = "carepath_oidc"
STATE_TTL = 600.0
_pending: dict[str, dict[str, Any]] = {}  # state → nonce, verifier, next, created
_discovery: dict[str, dict[str, Any]] = {}


class OidcError(Exception):
    pass


def enabled(web: Web) -> bool:
    return bool(web.web.oidc_issuer and web.web.oidc_client_id)


def _get_json(url: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        found = json.loads(resp.read())
    if not isinstance(found, dict):
        raise OidcError("the identity provider answered with something else than an object")
    return found


def discovery(issuer: str) -> dict[str, Any]:
    if issuer not in _discovery:
        doc = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        for key in ("authorization_endpoint", "token_endpoint"):
            if not isinstance(doc.get(key), str):
                raise OidcError(f"the discovery document has no {key}")
        _discovery[issuer] = doc
    return _discovery[issuer]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _redirect_uri(web: Web, request: Request) -> str:
    return web.web.oidc_redirect_url or str(request.url_for("oidc_callback"))


async def start(request: Request) -> Response:
    web: Web = request.app.state.web
    if not enabled(web):
        return HTMLResponse("Single sign-on is not configured.", status_code=404)
    now = time.time()
    for stale in [s for s, p in _pending.items() if now - p["created"] > STATE_TTL]:
        _pending.pop(stale, None)
    state, nonce, verifier = (secrets.token_urlsafe(24) for _ in range(3))
    nxt = request.query_params.get("next", "/")
    _pending[state] = {"nonce": nonce, "verifier": verifier, "next": nxt, "created": now}
    endpoint = discovery(str(web.web.oidc_issuer))["authorization_endpoint"]
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": web.web.oidc_client_id,
            "redirect_uri": _redirect_uri(web, request),
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
    )
    resp = RedirectResponse(f"{endpoint}?{query}", status_code=303)
    # Lax: the identity provider's redirect back is a cross-site top-level navigation
    resp.set_cookie(STATE_COOKIE, state, max_age=int(STATE_TTL), httponly=True,
                    samesite="lax", secure=secure(web, request))  # fmt: skip
    return resp


def _claims(id_token: str) -> dict[str, Any]:
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as e:
        raise OidcError("the ID token is not a JWT") from e
    if not isinstance(claims, dict):
        raise OidcError("the ID token's claims are not an object")
    return claims


def check_claims(claims: dict[str, Any], issuer: str, client_id: str, nonce: str) -> None:
    if str(claims.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
        raise OidcError("the ID token is from another issuer")
    aud = claims.get("aud")
    if client_id not in (aud if isinstance(aud, list) else [aud]):
        raise OidcError("the ID token is for another client")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < time.time():
        raise OidcError("the ID token has expired")
    if claims.get("nonce") != nonce:
        raise OidcError("the ID token's nonce does not match")


def principal(web: Web, claims: dict[str, Any]) -> Principal:
    name = str(claims.get("preferred_username") or claims.get("sub") or "")
    if not NAME_RE.fullmatch(name):
        raise OidcError("the user name from the identity provider is not usable here")
    local = web.accounts.user(name)
    role = claims.get(web.web.oidc_role_claim)
    if role not in USER_ROLES:
        role = local.role if local else None
    if role is None:
        raise OidcError(f"{name} has no carepath role (claim or local user)")
    return Principal(name, str(role), "oidc", local.team if local else "")


async def callback(request: Request) -> Response:
    web: Web = request.app.state.web
    state = request.query_params.get("state", "")
    pending = _pending.pop(state, None)
    cookie = request.cookies.get(STATE_COOKIE, "")
    try:
        if not enabled(web) or pending is None or not secrets.compare_digest(state, cookie):
            raise OidcError("the sign-in expired or did not start here; try again")
        if time.time() - pending["created"] > STATE_TTL:
            raise OidcError("the sign-in took too long; try again")
        if "error" in request.query_params or "code" not in request.query_params:
            raise OidcError("the identity provider did not sign you in")
        issuer, client = str(web.web.oidc_issuer), str(web.web.oidc_client_id)
        form = {
            "grant_type": "authorization_code",
            "code": request.query_params["code"],
            "redirect_uri": _redirect_uri(web, request),
            "client_id": client,
            "code_verifier": pending["verifier"],
        }
        if web.web.oidc_client_secret is not None:
            form["client_secret"] = web.web.oidc_client_secret.get_secret_value()
        tokens = _get_json(discovery(issuer)["token_endpoint"], form)
        claims = _claims(str(tokens.get("id_token", "")))
        check_claims(claims, issuer, client, pending["nonce"])
        who = principal(web, claims)
    except (OidcError, OSError, ValueError) as e:
        message = str(e) if isinstance(e, OidcError) else "the identity provider did not answer"
        return HTMLResponse(f"<p>Sign-in refused: {_escape(message)}. "
                            '<a href="/login">Back</a></p>', status_code=403)  # fmt: skip
    sid = web.accounts.open_session(who)
    web.accounts.audit(who, "login", "", "ok")
    nxt = pending["next"] if str(pending["next"]).startswith("/") else "/"
    if str(nxt).startswith("//"):
        nxt = "/"
    # a page, not a redirect: the Strict session cookie is sent from the next (same-site)
    # navigation, not along the identity provider's cross-site redirect chain
    target = _escape(str(nxt))
    page = (f'<!doctype html><meta http-equiv="refresh" content="0;url={target}">'
            f'<p>Signed in. <a href="{target}">Continue</a></p>')  # fmt: skip
    resp = HTMLResponse(page)
    resp.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict",
                    secure=secure(web, request), path="/")  # fmt: skip
    resp.delete_cookie(STATE_COOKIE)
    return resp


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))  # fmt: skip
