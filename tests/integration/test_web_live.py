"""``carepath web`` end to end on a real broker, a real worker and a real browser.

A sender token (made with ``carepath tokens add``) posts a Da Vinci discharge message over
HTTP; its follow-up Task appears in a reader's open worklist without a reload. A case
manager logs in, filters to overdue, opens the referral Task, accepts it and completes it
with a note; the worker processes each update and the new versions appear without a reload (in
the case manager's Task page and in the reader's worklist). The reader sees no actions.
The audit log has both actions, without the note. Screenshots are saved (see
``web_server.save_shot``).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from agents.web.accounts import Accounts
from tests.integration.web_server import chromium, running_web, save_shot
from tests.integration.worker import running_worker
from tests.unit.ingest_docs import diagnosed, encounter, message, patient

pytestmark = pytest.mark.integration

USERS = {
    "alice": ("case-manager", "alice-pass-1"),
    "rita": ("reader", "rita-pass-22"),
}
FHIR = "application/fhir+json"


def discharge_message(pid: str, end: datetime) -> dict[str, Any]:
    """A Da Vinci discharge notification for a BH stay that ended at ``end``."""
    start = end - timedelta(days=6)
    enc = diagnosed(encounter(
        id=f"enc-{pid}", subject={"reference": "urn:uuid:pat-1"},
        period={"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")},
    ))  # fmt: skip
    doc = message(enc=enc, id=f"msg-{pid}", timestamp=end.strftime("%Y-%m-%dT%H:%M:%SZ"))
    doc["entry"][2]["resource"] = patient(id=pid, name=[{"family": "Okafor", "given": ["Jo"]}])
    return doc


def wait_for(check: Any, timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def login(driver: Any, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(USERS[name][1])
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(lambda: "/login" not in driver.current_url, 10, "login")


def text_of(driver: Any, css: str) -> str:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return str(driver.find_element(By.CSS_SELECTOR, css).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def loaded_at(driver: Any) -> float:
    return float(driver.execute_script("return window.carepathLoadedAt"))


def test_case_manager_works_a_task_in_the_browser(kafka_bootstrap: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    pid = f"web{uuid.uuid4().hex[:8]}"
    key = f"north|{pid}"
    with running_worker(kafka_bootstrap, tmp_path) as worker, running_web(
        worker.wenv, tmp_path, USERS
    ) as web:  # fmt: skip
        sender = web.add_token("north-adt", "sender", "north")
        reader_token = web.add_token("dashboard", "reader")
        with chromium() as reader, chromium() as cm:
            # the reader watches the patient's (still empty) worklist
            login(reader, web.url, "rita")
            reader.get(f"{web.url}/?view=all&status=all&patient={key}")
            assert "No Tasks match" in reader.page_source
            watching_since = loaded_at(reader)

            # a hospital without Kafka posts its Patient and a discharge over HTTP
            doc = discharge_message(pid, datetime.now(UTC) - timedelta(days=10))
            auth = {"Content-Type": FHIR, "Authorization": f"Bearer {sender}"}
            named = orjson.dumps(doc["entry"][2]["resource"])
            r = httpx.post(f"{web.url}/fhir/Patient", content=named, headers=auth)
            assert r.status_code == 202, r.text
            r = httpx.post(f"{web.url}/fhir/$process-message", content=orjson.dumps(doc),
                           headers=auth)  # fmt: skip
            assert r.status_code == 202, r.text

            # its follow-up Task appears in the reader's page without a reload
            rows = wait_for(
                lambda: "follow-up-7d" in text_of(reader, "table.worklist tbody")
                and text_of(reader, "table.worklist tbody"), 60, "the Task",
            )  # fmt: skip
            assert "Jo Okafor" in rows
            assert loaded_at(reader) == watching_since
            save_shot(reader, tmp_path, "reader-live-new-task")

            # the case manager filters to overdue and opens it
            login(cm, web.url, "alice")
            cm.get(f"{web.url}/?view=all")
            cm.find_element(By.ID, "f-overdue").click()
            cm.find_element(By.ID, "apply-filters").click()
            wait_for(lambda: "overdue=1" in cm.current_url, 10, "the overdue filter")
            rows = cm.find_elements(By.CSS_SELECTOR, "table.worklist tbody tr")
            assert rows and all("Overdue" in r.text for r in rows)
            save_shot(cm, tmp_path, "worklist-overdue")
            # the referral Task (a follow-up-7d this late would fail at the next event: its
            # deadline fires first when our update moves the patient's clock to now)
            link = next(
                a for a in cm.find_elements(By.CSS_SELECTOR, "table.worklist td a")
                if a.text == "refer to IOP"
            )  # fmt: skip
            task_id = link.get_attribute("id").removeprefix("open-")
            link.click()
            wait_for(lambda: f"/tasks/{task_id}" in cm.current_url, 10, "the Task page")
            assert "Jo Okafor" in cm.page_source and key in cm.page_source

            # accept: published, then the pipeline's accepted version replaces "pending"
            cm.find_element(By.ID, "action-accept").click()
            wait_for(lambda: text_of(cm, "#task-status").startswith("accepted"), 60, "accepted")
            page_since = loaded_at(cm)

            # complete with a note
            cm.find_element(By.ID, "complete-note").send_keys("Reached Jo; visit booked.")
            cm.find_element(By.ID, "action-complete").click()
            wait_for(lambda: text_of(cm, "#task-status").startswith("completed"), 60, "completed")
            assert "Reached Jo; visit booked." in cm.page_source
            save_shot(cm, tmp_path, "task-completed")
            assert page_since > 0

            # the reader's worklist shows the completed version, still without a reload
            cell = f"#row-{task_id} td.status"
            wait_for(lambda: text_of(reader, cell).startswith("completed"), 60,
                     "completed in the reader's worklist")  # fmt: skip
            assert loaded_at(reader) == watching_since
            assert reader.execute_script("return window.carepathSwaps") >= 2

            # the reader sees no actions
            reader.get(f"{web.url}/tasks/{task_id}")
            assert reader.find_elements(By.CSS_SELECTOR, "[id^=action-]") == []
            assert "Version history" in reader.page_source
            save_shot(reader, tmp_path, "reader-task")

            # 768 px wide: the worklist still reads (one card a Task)
            cm.set_window_size(768, 1000)
            cm.get(f"{web.url}/?view=all&status=all")
            save_shot(cm, tmp_path, "worklist-768")

        # read back over the API (reader token): completed, with the note
        r = httpx.get(
            f"{web.url}/fhir/Task/{task_id}", headers={"Authorization": f"Bearer {reader_token}"}
        )
        assert r.status_code == 200
        assert r.json()["status"] == "completed"
        assert r.json()["note"][-1]["text"] == "Reached Jo; visit booked."

        audit = Accounts(web.data).audit_log(50, task_id)
        assert [(a["actor"], a["action"], a["outcome"]) for a in reversed(audit)] == [
            ("alice", "accept", "published"),
            ("alice", "complete", "published"),
        ]
        assert "visit booked" not in repr(audit) and "note given" in audit[0]["detail"]


def test_api_put_goes_through_the_worker(kafka_bootstrap: str, tmp_path: Path) -> None:
    """PUT /fhir/Task: a refused move is 409 and never published; an allowed one is 202 and
    the worker's new version is readable over the API."""
    pid = f"api{uuid.uuid4().hex[:8]}"
    with running_worker(kafka_bootstrap, tmp_path) as worker, running_web(
        worker.wenv, tmp_path, USERS
    ) as web:  # fmt: skip
        sender = {"Authorization": f"Bearer {web.add_token('adt', 'sender', 'north')}",
                  "Content-Type": FHIR}  # fmt: skip
        cm = {"Authorization": f"Bearer {web.add_token('cm-app', 'case-manager')}",
              "Content-Type": FHIR}  # fmt: skip
        doc = discharge_message(pid, datetime.now(UTC) - timedelta(days=2))
        assert httpx.post(f"{web.url}/fhir", content=orjson.dumps(
            {"resourceType": "Bundle", "type": "collection", "entry": []}), headers=sender
        ).status_code == 202  # fmt: skip
        r = httpx.post(f"{web.url}/fhir/$process-message", content=orjson.dumps(doc),
                       headers=sender)  # fmt: skip
        assert r.status_code == 202

        def found() -> Any:
            """A case-management Task (requested → in-progress is allowed for it, not for the
            referral's fulfill Task, which the worker may publish first)."""
            b = httpx.get(f"{web.url}/fhir/Task", params={"patient": f"north|{pid}"}, headers=cm)
            entries = b.json().get("entry") or []
            return [e for e in entries if e["resource"]["code"]["coding"][0]["code"] != "fulfill"]

        task = wait_for(found, 60, "a case-management Task over the API")[0]["resource"]
        url = f"{web.url}/fhir/Task/{task['id']}"
        r = httpx.put(url, content=orjson.dumps({**task, "status": "on-hold"}), headers=cm)
        assert r.status_code == 409
        r = httpx.put(url, content=orjson.dumps({**task, "status": "in-progress"}), headers=cm)
        assert r.status_code == 202, r.text
        wait_for(lambda: httpx.get(url, headers=cm).json()["status"] == "in-progress", 60,
                 "in-progress")  # fmt: skip
