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


def ingest_figures(settings: Any, docs: list[bytes], clients: int = 8) -> dict[str, Any]:
    """HTTP ingest (``POST /fhir/<Type>``, ``clients`` keep-alive connections, each document
    acknowledged by Kafka before its 202) against publishing the same documents with one
    plain producer, to a topic of their own; documents/s each and the ratio."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from agents import kafka_io
    from agents.security import connection
    from agents.web.accounts import Accounts
    from agents.web.app import create_app
    from agents.web.kafka import Publisher
    from agents.web.readmodel import ReadModel
    from agents.web.service import Web
    from agents.web.settings import WebSettings

    docs = [d for d in docs if _path(d)]  # the valid JSON documents of the sample
    stamp = f"{time.time_ns()}"
    direct_topic, http_topic = f"bench-direct-{stamp}", f"bench-http-{stamp}"
    target = connection(settings)
    kafka_io.ensure_topics(
        target, {direct_topic: 1, http_topic: 1}, replication=settings.replication_factor
    )
    started = time.perf_counter()
    kafka_io.publish(target, direct_topic, ((None, d, []) for d in docs))
    direct_eps = len(docs) / (time.perf_counter() - started)
    http_settings = settings.model_copy(update={"topic_inbound": http_topic})
    with tempfile.TemporaryDirectory(prefix="carepath-web-bench-") as tmp:
        accounts = Accounts(Path(tmp))
        token = accounts.add_token("bench", "sender", "bench")
        publisher = Publisher(http_settings)
        web = Web(http_settings, WebSettings(data=Path(tmp)), ReadModel(), accounts, publisher)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        with _server(create_app(web)) as url:
            paths = [_path(d) for d in docs]

            def send(part: int) -> int:
                ok = 0
                with httpx.Client(timeout=30, headers=headers) as client:
                    for i in range(part, len(docs), clients):
                        r = client.post(url + paths[i], content=docs[i])
                        ok += r.status_code == 202
                return ok

            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                accepted = sum(pool.map(send, range(clients)))
            http_eps = len(docs) / (time.perf_counter() - started)
        publisher.close()
    return {
        "web_ingest_documents": len(docs),
        "web_ingest_accepted": accepted,
        "web_http_ingest_eps": round(http_eps, 1),
        "web_direct_kafka_eps": round(direct_eps, 1),
        "web_http_ingest_ratio": round(http_eps / direct_eps, 3) if direct_eps else None,
    }


def _path(doc: bytes) -> str:
    """Where a sender posts ``doc`` (``""``: not a document the front door takes)."""
    from agents.web.fhir import ACCEPTED_TYPES

    try:
        parsed = orjson.loads(doc)
    except orjson.JSONDecodeError:
        return ""
    rtype = parsed.get("resourceType") if isinstance(parsed, dict) else None
    if rtype == "Bundle":
        return "/fhir"
    return f"/fhir/{rtype}" if rtype in ACCEPTED_TYPES else ""
