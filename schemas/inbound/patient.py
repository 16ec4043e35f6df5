"""Patient → ``patient`` and, when deceased, ``death`` (contract §3, rules.md §6, §8).

A Patient sent alone or as a collection entry (in a message Bundle it is context only)
becomes a ``PatientRecorded`` keyed by its own ``id`` with the source in force: ``display``
from the first ``name`` (its ``text``, else ``given`` + ``family``), ``female`` when
``gender`` is ``female`` (the C-SUD cut-off), ``deceased`` when ``deceasedBoolean`` is true
or ``deceasedDateTime`` is set, and the time of ``meta.lastUpdated`` when present
(``timed``). A later version without ``deceased[x]`` reverses a death it declared.

A deceased Patient also yields a ``PatientDied`` at ``deceasedDateTime``, else
``meta.lastUpdated``, else untimed (the core then uses the patient's latest event time,
and ignores the death of a patient never seen). Its ``event_id`` is the Patient's with
``/death`` appended: two events of one document for one patient need two identities.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.events import Event, PatientDied, PatientRecorded
from schemas.inbound.context import Ctx, patient_key
from schemas.inbound.corrections import UNTIMED, last_updated
from schemas.inbound.fields import Json, array, fhir_id, identity, string
from schemas.inbound.problem import Problem, show
from schemas.inbound.reasons import Outcome
from schemas.timeparse import parse_time

#: Longest display name kept (it travels in every output for the patient).
MAX_DISPLAY = 200


def patient_events(res: Json, ctx: Ctx) -> Outcome:
    rid = string(res, "id", "id")
    if rid is None:
        return "Patient.id: absent; no patient to record"
    patient = patient_key(ctx, fhir_id(rid, "id"))
    event_id, ref = identity(res, "Patient")
    updated = last_updated(res, ctx)
    died, died_at = _deceased(res, ctx)
    gender = string(res, "gender", "gender")
    recorded = PatientRecorded(
        event_id,
        patient,
        updated or UNTIMED,
        ref,
        _display(res),
        gender == "female",
        died,
        updated is not None,
    )
    events: list[Event] = [recorded]
    if died:
        when = died_at or updated
        timed = when is not None
        events.append(PatientDied(f"{event_id}/death", patient, when or UNTIMED, ref, timed))
    return events


def _deceased(res: Json, ctx: Ctx) -> tuple[bool, datetime | None]:
    """(deceased, ``deceasedDateTime`` as a UTC time or ``None``)."""
    flag = res.get("deceasedBoolean")
    if flag is not None and not isinstance(flag, bool):
        raise Problem("deceasedBoolean", f"expected true or false, got {show(flag)}", "structure")
    when = res.get("deceasedDateTime")
    if when is not None:
        return True, parse_time(when, "deceasedDateTime", ctx.frame)
    return bool(flag), None


def _display(res: Json) -> str | None:
    names = array(res, "name", "name")
    if not names:
        return None
    name = names[0]
    if not isinstance(name, dict):
        raise Problem("name[0]", f"expected a HumanName object, got {show(name)}", "structure")
    text = string(name, "text", "name[0].text")
    if text is None or not text.strip():
        given = array(name, "given", "name[0].given")
        family = string(name, "family", "name[0].family")
        parts = [g for g in given if isinstance(g, str)] + ([family] if family else [])
        text = " ".join(p.strip() for p in parts if p.strip())
    text = " ".join(text.split())
    return text[:MAX_DISPLAY] or None
