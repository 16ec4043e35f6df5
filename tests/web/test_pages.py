"""Pages: login (CSRF, cookies, idle timeout, logout), the worklist, a Task, actions by
role, pending, the audit log. The publisher is a fake of our own port; the real-broker
path is tests/integration/test_web_live.py."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from agents.web.accounts import Accounts
from pipeline.codes import Status
from tests.web.kit import PASSWORDS, FakePublisher, client, csrf_of, login, make_web


@pytest.fixture
def web(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_web(tmp_path)


def _first_open(web, code: str | None = None):  # type: ignore[no-untyped-def]
    from agents.web.readmodel import Query

    rows, _ = web.model.search(Query(code=code or "", limit=1000))
    return rows[0]


def test_pages_need_a_session(web) -> None:  # type: ignore[no-untyped-def]
    c = client(web)
    r = c.get("/?view=all", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert c.get("/changes").status_code == 401
    assert c.get("/tasks/x", follow_redirects=False).status_code == 303


def test_login_cookie_flags_and_wrong_password(web) -> None:  # type: ignore[no-untyped-def]
    c = client(web)
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": "alice", "password": "nope-nope"},
        follow_redirects=False,
    )
    assert r.status_code == 401 and "wrong password" in r.text
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": "alice", "password": PASSWORDS["alice"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = next(
        v
        for k, v in r.headers.multi_items()
        if k == "set-cookie" and v.startswith("carepath_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # http in tests; https requests get Secure
    assert c.get("/").status_code == 200


def test_login_form_needs_its_csrf_cookie(web) -> None:  # type: ignore[no-untyped-def]
    c = client(web)
    r = c.post(
        "/login",
        data={"csrf": "forged", "username": "alice", "password": PASSWORDS["alice"]},
        follow_redirects=False,
    )
    assert r.status_code == 403


def test_worklist_shows_counts_order_and_markers(web) -> None:  # type: ignore[no-untyped-def]
    c = login(client(web), "alice")
    r = c.get("/?view=all")
    assert r.status_code == 200
    assert "Content-Security-Policy" in r.headers
    m = re.search(r"<strong>(\d+)</strong> Tasks", r.text)
    assert m and int(m.group(1)) == web.model.stats()["open_tasks"]
    assert 'class="badge overdue"' in r.text and 'class="badge stat"' in r.text
    prios = re.findall(r'class="prio-(\w+)"', r.text)
    ranks = {"stat": 3, "asap": 2, "urgent": 1, "routine": 0}
    assert [ranks[p] for p in prios] == sorted((ranks[p] for p in prios), reverse=True)
    overdue = c.get("/?view=all&overdue=1")
    assert overdue.text.count("<tr id=") == len(re.findall(r"badge overdue", overdue.text))
    frag = c.get("/?view=all", headers={"X-Carepath-Fragment": "1"})
    assert "<html" not in frag.text and "<table" in frag.text


def test_task_page_shows_everything(web) -> None:  # type: ignore[no-untyped-def]
    c = login(client(web), "alice")
    t = _first_open(web, "fulfill")
    r = c.get(f"/tasks/{t.id}")
    assert r.status_code == 200
    for text in (
        t.row.description,
        t.row.patient,
        t.row.rule,
        "Version history",
        "Tasks and referrals",
        "Referral (",
        'id="action-accept"',
    ):
        assert text in r.text, text
    assert c.get("/tasks/no-such-task").status_code == 404


def test_reader_sees_no_actions_and_cannot_post(web) -> None:  # type: ignore[no-untyped-def]
    c = login(client(web), "rita")
    t = _first_open(web)
    r = c.get(f"/tasks/{t.id}")
    assert r.status_code == 200 and "action-" not in r.text and "Actions" not in r.text
    r = c.post(
        f"/tasks/{t.id}/act",
        data={"csrf": csrf_of(r.text), "action": "accept", "version": t.version},
    )
    assert r.status_code == 403
    assert web.publisher.sent == []
    assert web.accounts.audit_log(1)[0]["outcome"] == "refused: role"


def test_accept_publishes_an_update_and_shows_pending(web) -> None:  # type: ignore[no-untyped-def]
    c = login(client(web), "alice")
    t = _first_open(web, "fulfill")
    page = c.get(f"/tasks/{t.id}")
    r = c.post(
        f"/tasks/{t.id}/act",
        data={"csrf": csrf_of(page.text), "action": "accept", "version": t.version},
    )
    assert r.status_code == 200 and "Pending" in r.text and "action-" not in r.text
    value, key, source = web.publisher.sent[-1]
    doc = orjson.loads(value)
    assert doc["resourceType"] == "Task" and doc["id"] == t.id
    assert doc["status"] == Status.ACCEPTED and doc["intent"] == "order"
    assert doc["for"]["identifier"]["value"] == t.row.patient == key
    assert source is None and doc["lastModified"].endswith("Z")
    # the pipeline's new version arrives: no longer pending
    new = {**t.doc, "status": "accepted", "lastModified": "2026-05-08T12:00:01Z"}
    web.model.apply(orjson.dumps(new))
    r = c.get(f"/tasks/{t.id}")
    assert "Pending" not in r.text and 'id="action-complete"' in r.text
    audit = web.accounts.audit_log(5, t.id)
    assert audit[0]["actor"] == "alice" and audit[0]["action"] == "accept"
    assert audit[0]["outcome"] == "published"


def test_refused_moves_and_reasons(web) -> None:  # type: ignore[no-untyped-def]
    c = login(client(web), "alice")
    t = _first_open(web, "fulfill")  # a referral Task: requested → in-progress is not allowed
    page = c.get(f"/tasks/{t.id}")
    token = csrf_of(page.text)
    r = c.post(f"/tasks/{t.id}/act", data={"csrf": token, "action": "start", "version": t.version})
    assert "not an allowed transition" in r.text
    r = c.post(f"/tasks/{t.id}/act", data={"csrf": token, "action": "reject", "version": t.version})
    assert "a reason is required" in r.text
    r = c.post(
        f"/tasks/{t.id}/act", data={"csrf": "forged", "action": "accept", "version": t.version}
    )
    assert r.status_code == 403
    r = c.post(f"/tasks/{t.id}/act", data={"csrf": token, "action": "accept", "version": "0"})
    assert "changed since" in r.text
    assert web.publisher.sent == []
    outcomes = [e["outcome"] for e in web.accounts.audit_log(10, t.id)]
    assert all(o.startswith("refused") for o in outcomes) and len(outcomes) == 3


def test_cross_origin_post_refused(web) -> None:  # type: ignore[no-untyped-def]
    c = login(client(web), "alice")
    t = _first_open(web)
    token = csrf_of(c.get(f"/tasks/{t.id}").text)
    r = c.post(
        f"/tasks/{t.id}/act",
        data={"csrf": token, "action": "note", "note": "x"},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403 and web.publisher.sent == []


def test_take_assign_and_note(web) -> None:  # type: ignore[no-untyped-def]
    t = _first_open(web)
    alice = login(client(web), "alice")
    page = alice.get(f"/tasks/{t.id}")
    assert 'id="action-take"' in page.text and 'id="action-assign"' not in page.text
    alice.post(
        f"/tasks/{t.id}/act",
        data={"csrf": csrf_of(page.text), "action": "take", "version": t.version},
    )
    assert orjson.loads(web.publisher.sent[-1][0])["owner"] == {"reference": "Practitioner/alice"}
    t2 = _first_open(web, "fulfill")
    sam = login(client(web), "sam")
    page = sam.get(f"/tasks/{t2.id}")
    assert 'id="action-assign"' in page.text
    sam.post(
        f"/tasks/{t2.id}/act",
        data={
            "csrf": csrf_of(page.text),
            "action": "assign",
            "owner": "bob",
            "note": "",
            "version": t2.version,
        },
    )
    assert orjson.loads(web.publisher.sent[-1][0])["owner"] == {"reference": "Practitioner/bob"}
    audit = sam.get("/audit")
    assert audit.status_code == 200 and "assign" in audit.text
    assert alice.get("/audit").status_code == 403


def test_notes_never_reach_the_audit_log(web) -> None:  # type: ignore[no-untyped-def]
    c = login(client(web), "alice")
    t = _first_open(web)
    page = c.get(f"/tasks/{t.id}")
    secret = "patient disclosed a private detail"
    c.post(
        f"/tasks/{t.id}/act",
        data={"csrf": csrf_of(page.text), "action": "note", "note": secret, "version": t.version},
    )
    assert orjson.loads(web.publisher.sent[-1][0])["note"][0]["text"] == secret
    text = repr(web.accounts.audit_log(50))
    assert secret not in text and "note given" in text


def test_logout_and_idle_timeout(tmp_path: Path) -> None:
    web = make_web(tmp_path, session_idle_minutes=0.0001)
    c = login(client(web), "alice")
    import time

    time.sleep(0.02)
    assert c.get("/", follow_redirects=False).status_code == 303  # idle: signed out
    web2 = make_web(tmp_path / "b")
    c = login(client(web2), "alice")
    page = c.get("/")
    r = c.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/", follow_redirects=False).status_code == 303


def test_read_only_file_mode_has_no_actions(tmp_path: Path) -> None:
    web = make_web(tmp_path, read_only=True)
    c = login(client(web), "alice")
    t = _first_open(web)
    r = c.get(f"/tasks/{t.id}")
    assert "Read-only" in r.text and "action-" not in r.text


def test_changes_counter_moves(web) -> None:  # type: ignore[no-untyped-def]
    c = login(client(web), "alice")
    before = c.get("/changes").json()["seq"]
    t = _first_open(web)
    web.model.apply(orjson.dumps({**t.doc, "status": "accepted"}))
    assert c.get("/changes").json()["seq"] > before


def test_accounts_store_only_hashes(tmp_path: Path) -> None:
    acc = Accounts(tmp_path)
    acc.add_user("zoe", "reader", "a-long-password")
    token = acc.add_token("feed", "sender", "north")
    raw = (tmp_path / "accounts.sqlite").read_bytes()
    assert b"a-long-password" not in raw and token.encode() not in raw
    assert acc.bearer(token).source == "north"  # type: ignore[union-attr]
    assert acc.login("zoe", "a-long-password") is not None
    with pytest.raises(ValueError):
        acc.add_user("bad name", "reader", "a-long-password")
    with pytest.raises(ValueError):
        acc.add_user("x", "admin", "a-long-password")


def test_fake_publisher_is_ours() -> None:
    assert FakePublisher().publish(b"{}", None, None) == (0, 0)


def _unlabelled(html: str) -> list[str]:
    """Form fields (not hidden) without a ``<label for>`` naming their id."""
    labels = set(re.findall(r'<label for="([^"]+)"', html))
    fields = re.findall(r"<(input|select|textarea)\b([^>]*)>", html)
    missing = []
    for tag, attrs in fields:
        if 'type="hidden"' in attrs:
            continue
        m = re.search(r'id="([^"]+)"', attrs)
        if not m or m.group(1) not in labels:
            missing.append(f"<{tag}{attrs}>")
    return missing


def test_every_field_has_a_label_and_pages_have_landmarks(web) -> None:  # type: ignore[no-untyped-def]
    sam = login(client(web), "sam")  # a supervisor sees every form
    t = _first_open(web, "fulfill")
    for url in ("/?view=all", f"/tasks/{t.id}"):
        html = sam.get(url).text
        assert _unlabelled(html) == [], url
        for landmark in ('<main id="main"', "<header", 'class="skip"', 'lang="en"',
                         'aria-live="polite"'):  # fmt: skip
            assert landmark in html, (url, landmark)
    assert _unlabelled(client(web).get("/login").text) == []
    table = sam.get("/?view=all").text
    assert "<caption" in table and 'scope="col"' in table
