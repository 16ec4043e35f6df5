"""The Starlette application of ``carepath web``: routes, error pages, security headers,
request metrics. Built from a :class:`agents.web.service.Web` (its collaborators)."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from agents.web import fhir, oidc, pages
from agents.web.auth import Forbidden
from agents.web.service import Web

#: Content-Security-Policy: our own scripts and styles only, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class Guard(BaseHTTPMiddleware):
    """Security headers on every response, and request count/latency by route."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "other")
        web: Web = request.app.state.web
        web.metrics.requests.labels(name, str(response.status_code)).inc()
        web.metrics.latency.labels(name).observe(time.perf_counter() - started)
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        if response.media_type is None or "html" in (response.media_type or ""):
            h.setdefault("Content-Security-Policy", CSP)
        return response


async def healthz(request: Request) -> Response:
    web: Web = request.app.state.web
    feed = web.feed
    body = {
        "status": "ok",
        "read_model": "ready" if web.model.loaded.is_set() else "loading",
        "read_only": web.read_only,
        "kafka": (feed.error or "ok") if feed is not None else "not used",
        **web.model.stats(),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def metrics(request: Request) -> Response:
    web: Web = request.app.state.web
    return Response(generate_latest(web.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def _login_required(request: Request, exc: Exception) -> Response:
    if request.headers.get("x-carepath-fragment") == "1":
        return JSONResponse({"login": "/login"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    from urllib.parse import urlencode

    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    if request.url.path.startswith("/fhir"):
        return fhir.refusal(exc)
    return PlainTextResponse(f"403 Forbidden: {exc.message}", status_code=403)


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/fhir"):
        return fhir.outcome(404, "error", "not-found", f"{request.url.path}: no such endpoint")
    return PlainTextResponse("404 Not Found", status_code=404)


async def _method(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/fhir"):
        return fhir.outcome(
            405, "error", "not-supported", f"{request.method} is not supported here"
        )
    return PlainTextResponse("405 Method Not Allowed", status_code=405)


def create_app(web: Web) -> Starlette:
    routes = [
        Route("/", pages.worklist),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/auth/oidc", oidc.start),
        Route("/auth/oidc/callback", oidc.callback, name="oidc_callback"),
        Route("/changes", pages.changes),
        Route("/tasks/{task_id}", pages.task_page),
        Route("/tasks/{task_id}/act", pages.act, methods=["POST"]),
        Route("/audit", pages.audit_page),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/fhir/metadata", fhir.metadata),
        Route("/fhir/$process-message", fhir.process_message, methods=["POST"]),
        Route("/fhir", fhir.post_bundle, methods=["POST"]),
        Route("/fhir/", fhir.post_bundle, methods=["POST"]),
        Route("/fhir/Task", fhir.search_tasks, methods=["GET"]),
        Route("/fhir/Task/{rid}", fhir.read_task, methods=["GET"]),
        Route("/fhir/Task/{rid}", fhir.put_task, methods=["PUT"]),
        Route("/fhir/ServiceRequest", fhir.search_referrals, methods=["GET"]),
        Route("/fhir/ServiceRequest/{rid}", fhir.read_referral, methods=["GET"]),
        Route("/fhir/{rtype}", fhir.post_resource, methods=["POST"]),
        Mount(
            "/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static"
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard)],
        exception_handlers={
            pages.LoginRequired: _login_required,
            Forbidden: _forbidden,
            404: _not_found,
            405: _method,
        },
    )
    app.state.web = web
    return app
