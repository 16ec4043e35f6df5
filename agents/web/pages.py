"""Server-rendered pages: login, the worklist, a Task, the audit log.

Every page needs a session (else a redirect to ``/login``). Pages are complete HTML that
work without JavaScript; ``static/live.js`` polls ``/changes`` and swaps the ``#live``
region in place when the read model changed (``X-Carepath-Fragment: 1`` asks for it alone).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from agents.web import actions
from agents.web.accounts import Principal
from agents.web.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Forbidden,
    check_csrf,
    same_origin,
    secure,
    session_user,
)
from agents.web.readmodel import Query, TaskView, utc_text
from agents.web.service import Web
from agents.web.service_ops import NotFound, Unavailable, submit_update
from pipeline.codes import PRIORITY_RANK, TERMINAL, CareTask, Status

log = logging.getLogger("carepath.web")

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

VIEWS = {"mine": "My Tasks", "team": "My team", "unassigned": "Unassigned", "all": "All Tasks"}
STATUSES = [
    Status.REQUESTED,
    Status.ACCEPTED,
    Status.IN_PROGRESS,
    Status.ON_HOLD,
    Status.COMPLETED,
    Status.REJECTED,
    Status.FAILED,
    Status.CANCELLED,
    Status.ENTERED_IN_ERROR,
]
CODES = sorted(v for k, v in vars(CareTask).items() if k.isupper())
PRIORITIES = sorted(PRIORITY_RANK, key=lambda p: -PRIORITY_RANK[p])


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


class LoginRequired(Exception):
    pass


def page_user(request: Request, touch: bool = True) -> Principal:
    who = session_user(web_of(request), request, touch)
    if who is None:
        raise LoginRequired()
    return who


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    web = web_of(request)
    context.setdefault("read_only", web.read_only)
    context.setdefault("poll_ms", int(web.web.poll_seconds * 1000))
    context.setdefault("seq", web.model.seq)
    context.setdefault("loaded", web.model.loaded.is_set())
    if request.headers.get("x-carepath-fragment") == "1" and "fragment" in context:
        name = context["fragment"]
    resp = templates.TemplateResponse(request, name, context, status_code=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ------------------------------------------------------------------ login / logout
async def login_form(request: Request, error: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    nxt = request.query_params.get("next", "/")
    resp = render(
        request,
        "login.html",
        status,
        login_csrf=token,
        error=error,
        next=nxt,
        oidc=bool(web_of(request).web.oidc_issuer),
        user=None,
    )
    resp.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure(web_of(request), request),
        max_age=1800,
    )
    return resp


async def login(request: Request) -> Response:
    web = web_of(request)
    form = await request.form()
    sent, kept = str(form.get("csrf", "")), request.cookies.get(LOGIN_COOKIE, "")
    if not same_origin(request) or not kept or not secrets.compare_digest(sent, kept):
        return await login_form(request, "The login form expired; please try again.", 403)
    who = web.accounts.login(str(form.get("username", "")), str(form.get("password", "")))
    if who is None:
        log.info("login refused")  # no name: a mistyped password may be in the name field
        return await login_form(request, "Unknown user name or wrong password.", 401)
    sid = web.accounts.open_session(who)
    web.accounts.audit(who, "login", "", "ok")
    nxt = str(form.get("next", "/"))
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"
    resp = RedirectResponse(nxt, status_code=303)
    resp.set_cookie(
        SESSION_COOKIE, sid, httponly=True, samesite="strict", secure=secure(web, request), path="/"
    )
    resp.delete_cookie(LOGIN_COOKIE)
    return resp


async def logout(request: Request) -> Response:
    web = web_of(request)
    who = page_user(request)
    form = await request.form()
    check_csrf(who, request, str(form.get("csrf", "")))
    web.accounts.close_session(request.cookies.get(SESSION_COOKIE, ""))
    web.accounts.audit(who, "logout", "", "ok")
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# ------------------------------------------------------------------ worklist
def _query(request: Request, who: Principal, web: Web) -> tuple[Query, str, dict[str, str]]:
    p = request.query_params
    view = p.get("view", "mine" if who.can("act") else "all")
    if view not in VIEWS:
        view = "all"
    owners: tuple[str, ...] | None = None
    if view == "mine":
        owners = (who.owner_ref,)
    elif view == "team":
        members = web.accounts.team_members(who.team)
        owners = tuple(f"Practitioner/{m}" for m in members) + ((who.team,) if who.team else ())
    status = p.get("status", "open")
    if status not in (*STATUSES, "open", "all"):
        status = "open"
    try:
        page = max(1, int(p.get("page", "1")))
    except ValueError:
        page = 1
    size = web.web.page_size
    filters = {
        "view": view,
        "priority": p.get("priority", "") if p.get("priority", "") in PRIORITY_RANK else "",
        "code": p.get("code", "") if p.get("code", "") in CODES else "",
        "status": status,
        "overdue": "1" if p.get("overdue") else "",
        "due_today": "1" if p.get("due_today") else "",
        "patient": p.get("patient", "").strip()[:120],
    }
    q = Query(
        owners=owners,
        unassigned=view == "unassigned",
        priority=filters["priority"],
        code=filters["code"],
        status=status,
        overdue=bool(filters["overdue"]),
        due_today=bool(filters["due_today"]),
        patient=filters["patient"],
        now=web.now_text(),
        today=web.today(),
        offset=(page - 1) * size,
        limit=size,
    )
    return q, view, filters


async def worklist(request: Request) -> Response:
    web = web_of(request)
    who = page_user(request)
    q, view, filters = _query(request, who, web)
    tab_queries = {key: _query(_with(request, view=key), who, web)[0] for key in VIEWS}
    counts = web.model.summary(q, tab_queries)
    rows, _ = web.model.search(q, count=False)
    total = counts["matching"]
    tabs = [
        {
            "key": key,
            "label": label,
            "count": counts[f"tab:{key}"],
            "href": "/?" + urlencode({**filters, "view": key, "page": 1}),
        }
        for key, label in VIEWS.items()
    ]
    page = q.offset // q.limit + 1
    pages = max(1, -(-total // q.limit))
    link = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "worklist.html",
        fragment="worklist_live.html",
        user=who,
        rows=rows,
        total=total,
        counts=counts,
        tabs=tabs,
        view=view,
        view_label=VIEWS[view],
        filters=filters,
        statuses=STATUSES,
        codes=CODES,
        priorities=PRIORITIES,
        page=page,
        pages=pages,
        prev_href="/?" + urlencode({**link, "page": page - 1}) if page > 1 else "",
        next_href="/?" + urlencode({**link, "page": page + 1}) if page < pages else "",
        pending_after=web.web.pending_seconds,
        now=q.now,
    )


def _with(request: Request, **changes: str) -> Request:
    params = dict(request.query_params)
    params.update(changes)
    scope = dict(request.scope)
    scope["query_string"] = urlencode(params).encode()
    return Request(scope)


async def changes(request: Request) -> Response:
    """The read model's change number (polled by open pages; not session activity)."""
    web = web_of(request)
    if session_user(web, request, touch=False) is None:
        return JSONResponse({"login": "/login"}, status_code=401)
    return JSONResponse(
        {"seq": web.model.seq, "loaded": web.model.loaded.is_set()},
        headers={"Cache-Control": "no-store"},
    )


# ------------------------------------------------------------------ one Task
def _trigger(web: Web, view: TaskView) -> dict[str, Any]:
    focus = str((view.doc.get("focus") or {}).get("reference", ""))
    out: dict[str, Any] = {"focus": focus, "referral": None, "reasons": []}
    if focus.startswith("ServiceRequest/"):
        ref = web.model.referral(focus.removeprefix("ServiceRequest/"))
        if ref is not None:
            out["referral"] = ref
            out["reasons"] = [
                str(r.get("reference", "")) for r in ref["doc"].get("reasonReference") or []
            ]
    return out


async def task_page(request: Request) -> Response:
    web = web_of(request)
    who = page_user(request)
    task_id = request.path_params["task_id"]
    view = web.model.task(task_id, web.now_text())
    if view is None:
        return render(request, "missing.html", 404, user=who, task_id=task_id)
    refused = view.pending is not None and bool(view.pending.get("refused"))
    can_act = who.can("act") and not web.read_only and (view.pending is None or refused)
    others = [u["name"] for u in web.accounts.users() if u["role"] != "reader"]
    return render(
        request,
        "task.html",
        fragment="task_live.html",
        user=who,
        t=view,
        row=view.row,
        versions=web.model.versions(task_id),
        timeline=web.model.timeline(view.row.patient, web.now_text()),
        trigger=_trigger(web, view),
        actions=actions.available(view.row.code, view.row.status) if can_act else [],
        can_act=can_act,
        can_take=can_act and _may_take(who, view),
        can_assign=can_act and who.can("assign") and view.open,
        people=others,
        notes=[n.get("text", "") for n in view.doc.get("note") or [] if isinstance(n, dict)],
        pending_late=_late(web, view),
        message=request.query_params.get("msg", ""),
        audit=web.accounts.audit_log(20, task_id) if who.can("audit") else [],
    )


def _may_take(who: Principal, view: TaskView) -> bool:
    """A case manager may take an unassigned Task or one owned by a team (an Organization);
    taking one from another person is a supervisor's reassignment."""
    owner = view.row.owner
    if not view.open or owner == who.owner_ref:
        return False
    return not owner or not owner.startswith("Practitioner/") or who.can("assign")


def _late(web: Web, view: TaskView) -> bool:
    """Whether the Task's pending action has waited longer than ``pending_seconds``."""
    if view.pending is None:
        return False
    since = web.now() - timedelta(seconds=web.web.pending_seconds)
    return bool(view.pending["at"] < utc_text(since))


async def act(request: Request) -> Response:
    """One action from the Task page → a Task update on ``care.inbound`` (pending)."""
    web = web_of(request)
    who = page_user(request)
    form = await request.form()
    check_csrf(who, request, str(form.get("csrf", "")))
    if not who.can("act"):
        web.accounts.audit(
            who, str(form.get("action", "")), request.path_params["task_id"], "refused: role", ""
        )
        raise Forbidden(f"the {who.role} role reads; it does not act on Tasks")
    task_id = request.path_params["task_id"]
    name = str(form.get("action", ""))
    note = str(form.get("note", "")).strip()[:500] or None
    reason = str(form.get("reason", "")).strip()[:500] or None
    status, owner = None, None
    if name in actions.BY_NAME:
        status = actions.BY_NAME[name].status
    elif name == "take":
        owner = who.owner_ref
    elif name == "assign":
        target = str(form.get("owner", "")).strip()
        owner = target if "/" in target else f"Practitioner/{target}" if target else None
    elif name != "note":
        raise Forbidden(f"unknown action {name!r}")
    try:
        result = await run_in_threadpool(
            submit_update,
            web,
            who,
            task_id,
            name,
            status,
            owner,
            note,
            reason,
            via_form=str(form.get("version", "")),
        )
    except NotFound:
        return render(request, "missing.html", 404, user=who, task_id=task_id)
    except (actions.Refused, Unavailable) as e:
        result = f"Not sent: {e}"
    return RedirectResponse(f"/tasks/{task_id}?" + urlencode({"msg": result}), status_code=303)


# ------------------------------------------------------------------ audit
async def audit_page(request: Request) -> Response:
    web = web_of(request)
    who = page_user(request)
    if not who.can("audit"):
        raise Forbidden("the audit log is for supervisors")
    return render(request, "audit.html", user=who, entries=web.accounts.audit_log(500))


__all__ = [
    "TERMINAL",
    "act",
    "audit_page",
    "changes",
    "login",
    "login_form",
    "logout",
    "task_page",
    "worklist",
]
