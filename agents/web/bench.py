"""Web figures for ``carepath bench``: worklist page latency with a large read model, and
HTTP ingest against publishing the same documents straight to Kafka.

- ``page_figures``: ``n`` open Tasks (made from one template: ids, patients, owners,
  priorities, codes and due times varied) in a file-backed read model, a real uvicorn
  server on loopback, a signed-in case manager asking for the worklist pages people use
  (mine, all, overdue, a priority, a patient, a task code); p50/p95 over every request.
- ``ingest_figures``: the same documents posted one a request to
  ``/fhir/$process-message`` (sender token, keep-alive) and published with a plain
  producer, documents/s each and their ratio, in the same run.
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from pipeline.codes import PRIORITY_RANK, CareTask

PAGES = (
    "/?view=mine",
    "/?view=all",
    "/?view=all&overdue=1",
    "/?view=unassigned&priority=stat",
    "/?view=all&patient=bench-p123",
    f"/?view=all&code={CareTask.LOST}",
)
CODES = [CareTask.FOLLOWUP_7D, CareTask.LOST, CareTask.RECERT, CareTask.SI_SCREEN,
         CareTask.NO_SHOW, CareTask.DISCHARGE_REVIEW]  # fmt: skip


def _task(i: int, rng: random.Random, now: datetime, base: str) -> bytes:
    pid = f"bench-p{i % 40_000}"
    due = now + timedelta(hours=rng.randint(-24 * 20, 24 * 40))
    doc: dict[str, Any] = {
        "resourceType": "Task", "id": f"bench-{i:07d}", "status": "requested",
        "intent": "order", "priority": rng.choice(list(PRIORITY_RANK)),
        "code": {"coding": [{"system": f"{base}/CodeSystem/care-task",
                             "code": rng.choice(CODES)}]},
        "description": "Discharged to the community on 2026-03-08; confirm a follow-up "
                       "visit by the end of 2026-03-15.",
        "for": {"reference": f"Patient/{pid}",
                "identifier": {"system": f"{base}/patient-key", "value": f"north|{pid}"}},
        "authoredOn": (due - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "restriction": {"period": {"end": due.strftime("%Y-%m-%dT%H:%M:%SZ")}},
        "reasonCode": {"coding": [{"system": f"{base}/CodeSystem/rule", "code": "C-FOLLOWUP"}]},
    }  # fmt: skip
    if i % 3 == 0:
        doc["owner"] = {"reference": "Practitioner/bench" if i % 6 == 0 else "Organization/cm"}
    return orjson.dumps(doc)


@contextmanager
def _server(app: Any) -> Iterator[str]:
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the bench web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _login(client: Any, url: str) -> None:
    page = client.get(f"{url}/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    client.post(f"{url}/login", data={"csrf": token.group(1), "username": "bench",
                                      "password": "bench-password"})  # fmt: skip


def page_figures(n_open: int = 100_000, rounds: int = 10, seed: int = 7) -> dict[str, Any]:
    """Worklist page latency (ms) with ``n_open`` open Tasks in the read model."""
    import httpx

    from agents.settings import Settings
    from agents.web.accounts import Accounts
    from agents.web.app import create_app
    from agents.web.readmodel import ReadModel
    from agents.web.service import Web
    from agents.web.settings import WebSettings

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="carepath-web-bench-") as tmp:
        data = Path(tmp)
        model = ReadModel(data / "readmodel.sqlite")
        started = time.perf_counter()
        model.apply_all(_task(i, rng, now, settings.base_url) for i in range(n_open))
        load_s = time.perf_counter() - started
        model.loaded.set()
        accounts = Accounts(data)
        accounts.add_user("bench", "case-manager", "bench-password", "Organization/cm")
        web = Web(settings, WebSettings(data=data), model, accounts, None)
        times: list[float] = []
        with _server(create_app(web)) as url, httpx.Client(timeout=30) as client:
            _login(client, url)
            for page in PAGES:  # warm up
                client.get(url + page).raise_for_status()
            for _ in range(rounds):
                for page in PAGES:
                    t = time.perf_counter()
                    client.get(url + page).raise_for_status()
                    times.append((time.perf_counter() - t) * 1000)
        model.close()
    times.sort()
    return {
        "web_open_tasks": n_open,
        "web_readmodel_load_s": round(load_s, 1),
        "web_page_p50_ms": round(statistics.median(times), 1),
        "web_page_p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "web_page_requests": len(times),
    }
