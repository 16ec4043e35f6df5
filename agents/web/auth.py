"""Who is asking, and may they: session cookies for people, bearer tokens for systems.

- Session cookie ``carepath_session``: HttpOnly, SameSite=Strict, Secure over https (or as
  ``CAREPATH_WEB_SECURE_COOKIES`` says), an opaque random id whose SHA-256 is the server-side
  session; idle timeout and absolute lifetime; logout deletes it. Background polling does
  not count as activity, so an unattended page still logs out.
- CSRF: every state-changing form carries the session's synchronizer token (``csrf``),
  compared in constant time; the login form uses a double-submit cookie. Cross-origin
  ``Origin`` headers are refused too.
- API: ``Authorization: Bearer <token>`` (``carepath tokens add``).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request

from agents.web.accounts import Principal

if TYPE_CHECKING:
    from agents.web.service import Web

SESSION_COOKIE = "carepath_session"
LOGIN_COOKIE = "carepath_login"


class Unauthenticated(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str = "not allowed for this role") -> None:
        super().__init__(message)
        self.message = message


def secure(web: Web, request: Request) -> bool:
    if web.web.secure_cookies is not None:
        return web.web.secure_cookies
    return request.url.scheme == "https"


def session_user(web: Web, request: Request, touch: bool = True) -> Principal | None:
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    return web.accounts.session(
        sid,
        idle=web.web.session_idle_minutes * 60,
        lifetime=web.web.session_max_hours * 3600,
        touch=touch,
    )


def bearer(web: Web, request: Request) -> Principal | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return web.accounts.bearer(token.strip())


def api_principal(web: Web, request: Request, permission: str) -> Principal:
    who = bearer(web, request)
    if who is None:
        raise Unauthenticated()
    if not who.can(permission):
        raise Forbidden(f"the {who.role} role may not {permission}")
    return who


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"


def check_csrf(who: Principal, request: Request, token: str | None) -> None:
    if not same_origin(request):
        raise Forbidden("cross-origin form refused")
    if not token or not who.csrf or not hmac.compare_digest(token, who.csrf):
        raise Forbidden("the form's CSRF token does not match your session; reload the page")
