"""Plausible event times (issue 11, DESIGN.md convention 11): in every time field the
boundary reads, a sentinel (0001-01-01, 9999-12-31), a time before ``time.earliest_year``
or more than ``time.horizon_days`` after the reference time is one error naming the field;
nothing raises, nothing reaches the core."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import parse_rules
from schemas.timeparse import Frame, frame_of, parse_time
from tests.unit.ingest_docs import (
    LOC,
    Doc,
    appointment,
    cc,
    collection,
    condition,
    encounter,
    episode,
    error,
    message,
    observation,
    one,
    patient,
    run,
    task,
)

REFERENCE = datetime(2026, 3, 2, tzinfo=UTC)
SENTINELS = [
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999+14:00",
    "1899-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "1000-06-15T12:00:00-03:00",
]


def _without(doc: Doc, *keys: str) -> Doc:
    return {k: v for k, v in doc.items() if k not in keys}


def _period(**times: str) -> Doc:
    return dict(times)


def _appointment_from() -> Doc:
    return _without(appointment(start="2026-03-01T08:00:00Z"), "minutesDuration")


def _session(**times: str) -> Doc:
    return encounter("AMB", period=_period(**times), serviceType=[cc(LOC, "iop")])


#: (case, builder of a document whose field holds the value, expression of the field)
FIELDS: list[tuple[str, Callable[[str], Doc], str]] = [
    ("obs effectiveDateTime", lambda v: observation(effectiveDateTime=v),
     "Observation.effectiveDateTime"),
    ("obs effectivePeriod.start",
     lambda v: {**_without(observation(), "effectiveDateTime"), "effectivePeriod": {"start": v}},
     "Observation.effectivePeriod.start"),
    ("obs effectiveInstant",
     lambda v: {**_without(observation(), "effectiveDateTime"), "effectiveInstant": v},
     "Observation.effectiveInstant"),
    ("obs issued", lambda v: {**_without(observation(), "effectiveDateTime"), "issued": v},
     "Observation.issued"),
    ("obs retracted", lambda v: observation(status="entered-in-error", effectiveDateTime=v),
     "Observation.effectiveDateTime"),
    ("stay end", lambda v: encounter(period=_period(start="2026-03-01T08:00:00Z", end=v)),
     "Encounter.period.end"),
    ("stay start", lambda v: encounter(status="in-progress", period=_period(start=v)),
     "Encounter.period.start"),
    ("ed end", lambda v: encounter("EMER", period=_period(end=v)), "Encounter.period.end"),
    ("withdrawn stay", lambda v: encounter(status="entered-in-error", period=_period(end=v)),
     "Encounter.period.end"),
    ("session start", lambda v: _session(start=v),
     "Encounter.period.start"),
    ("session end",
     lambda v: _session(start="2026-03-01T08:00:00Z", end=v),
     "Encounter.period.end"),
    ("appointment start", lambda v: appointment(start=v), "Appointment.start"),
    ("appointment end", lambda v: {**_appointment_from(), "end": v}, "Appointment.end"),
    ("enrollment", lambda v: episode(period=_period(start=v)), "EpisodeOfCare.period.start"),
    ("exit", lambda v: episode("finished", period=_period(start="2026-02-02", end=v)),
     "EpisodeOfCare.period.end"),
    ("task lastModified", lambda v: task(lastModified=v), "Task.lastModified"),
    ("task authoredOn", lambda v: {**_without(task(), "lastModified"), "authoredOn": v},
     "Task.authoredOn"),
    ("condition onset", lambda v: condition(onsetDateTime=v), "Condition.onsetDateTime"),
    ("condition onsetPeriod",
     lambda v: {**_without(condition(), "onsetDateTime"), "onsetPeriod": {"start": v}},
     "Condition.onsetPeriod.start"),
    ("condition recordedDate",
     lambda v: {**_without(condition(), "onsetDateTime"), "recordedDate": v},
     "Condition.recordedDate"),
    ("condition lastUpdated",
     lambda v: {**_without(condition(), "onsetDateTime"), "meta": {"lastUpdated": v}},
     "Condition.meta.lastUpdated"),
    ("patient lastUpdated", lambda v: patient(meta={"lastUpdated": v}), "Patient.meta.lastUpdated"),
    ("patient deceased", lambda v: patient(deceasedDateTime=v), "Patient.deceasedDateTime"),
    ("message focus",
     lambda v: message(enc={**encounter(period=_period(start="2026-03-01", end=v)),
                            "subject": {"reference": "urn:uuid:pat-1"}}),
     "Bundle.entry[1].resource.period.end"),
    ("collection entry", lambda v: collection(observation(effectiveDateTime=v)),
     "Bundle.entry[0].resource.effectiveDateTime"),
]  # fmt: skip
IDS = [name for name, _, _ in FIELDS]


@pytest.mark.parametrize(("name", "build", "where"), FIELDS, ids=IDS)
def test_every_time_field_reads_its_valid_value(
    name: str, build: Callable[[str], Doc], where: str
) -> None:
    """Control: the same documents with a plausible time are read without error."""
    out = run(build("2026-03-03T10:00:00Z"), reference=REFERENCE)
    assert out.errors == [] and out.events, (name, out)


@pytest.mark.parametrize("value", SENTINELS)
@pytest.mark.parametrize(("name", "build", "where"), FIELDS, ids=IDS)
def test_sentinels_are_one_error_naming_the_field(
    name: str, build: Callable[[str], Doc], where: str, value: str
) -> None:
    for reference in (None, REFERENCE):
        err = error(build(value), reference=reference)
        assert err.expression == where and err.diagnostics.startswith(f"{where}: "), err
        assert err.code == "value"


@pytest.mark.parametrize(("name", "build", "where"), FIELDS, ids=IDS)
def test_far_future_is_an_error_with_a_reference(
    name: str, build: Callable[[str], Doc], where: str
) -> None:
    err = error(build("2062-03-01T00:00:00Z"), reference=REFERENCE)
    assert err.diagnostics == (
        f"{where}: '2062-03-01T00:00:00Z' is more than 30 days after the reference time "
        "2026-03-02T00:00:00Z"
    )
    alone = run(build("2062-03-01T00:00:00Z")).errors  # no reference, no horizon
    assert not any("reference time" in e.diagnostics for e in alone)


def test_the_horizon_is_inclusive_and_configurable() -> None:
    assert one(observation(effectiveDateTime="2026-04-01T00:00:00Z"), reference=REFERENCE)
    err = error(observation(effectiveDateTime="2026-04-01T00:00:01Z"), reference=REFERENCE)
    assert "more than 30 days after" in err.diagnostics
    rules = parse_rules({"time": {"horizon_days": 0, "earliest_year": 2000}})
    assert one(observation(effectiveDateTime="2026-03-02"), rules=rules, reference=REFERENCE)
    err = error(observation(effectiveDateTime="2026-03-02T00:00:01Z"), rules=rules,
                reference=REFERENCE)  # fmt: skip
    assert "more than 0 days after the reference time" in err.diagnostics
    err = error(observation(effectiveDateTime="1999-12-31"), rules=rules)
    assert err.diagnostics == (
        "Observation.effectiveDateTime: '1999-12-31' is before 2000-01-01T00:00:00Z, "
        "the earliest plausible time"
    )


def test_date_only_bounds_follow_the_site_zone() -> None:
    """A date alone is 00:00 in the site zone: 1900-01-01 east of UTC is still 1899 in UTC."""
    east = parse_rules({"site": {"timezone": "Asia/Tokyo"}})
    assert "earliest plausible" in error(observation(effectiveDateTime="1900-01-01"),
                                         rules=east).diagnostics  # fmt: skip
    assert one(observation(effectiveDateTime="1900-01-02"), rules=east)


@pytest.mark.parametrize(
    ("reference", "latest"),
    [
        (None, datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        (REFERENCE, datetime(2026, 4, 1, tzinfo=UTC)),
        (
            datetime(2199, 12, 31, tzinfo=UTC),
            datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        (
            datetime(9999, 12, 31, tzinfo=UTC),
            datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
    ],
)
def test_frames_never_overflow(reference: datetime | None, latest: datetime) -> None:
    frame = frame_of(UTC, 1900, reference, 30)
    assert frame.latest == latest and frame.earliest == datetime(1900, 1, 1, tzinfo=UTC)
    assert frame_of(UTC, 1800).earliest == datetime(1900, 1, 1, tzinfo=UTC)  # core floor


@pytest.mark.parametrize("value", SENTINELS)
def test_parse_time_raises_only_problems(value: str) -> None:
    from schemas.inbound.problem import Problem

    with pytest.raises(Problem):
        parse_time(value, "x", Frame(UTC))


def test_time_section_is_checked() -> None:
    from pipeline.config import RulesFileError

    for bad, msg in (
        ({"earliest_year": 1800}, "time.earliest_year: must be ≥ 1900"),
        ({"horizon_days": -1}, "time.horizon_days: must be ≥ 0"),
        ({"horizon": 3}, "time.horizon: unknown key"),
    ):
        data: dict[str, Any] = {"time": bad}
        with pytest.raises(RulesFileError, match=msg):
            parse_rules(data, "r.toml")


# -- property: any time string in any time field ------------------------------------------
TIMES = st.one_of(
    st.sampled_from(SENTINELS),
    st.builds(
        "{:04d}-{:02d}-{:02d}{}".format,
        st.integers(1, 9999),
        st.integers(1, 12),
        st.integers(1, 28),
        st.one_of(
            st.just(""),
            st.builds(
                "T{:02d}:{:02d}:{:02d}{}".format,
                st.integers(0, 23),
                st.integers(0, 59),
                st.integers(0, 59),
                st.sampled_from(["Z", "+14:00", "-12:00", "+05:30", ".999999Z"]),
            ),
        ),
    ),
)
REFERENCES = st.one_of(
    st.none(), st.datetimes(datetime(1900, 1, 1), datetime(2199, 12, 31), timezones=st.just(UTC))
)
ZONES = st.sampled_from(["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York"])


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(FIELDS), TIMES, REFERENCES, ZONES, st.integers(0, 400))
def test_any_time_is_an_event_in_the_frame_or_one_error_naming_the_field(
    field: tuple[str, Callable[[str], Doc], str],
    value: str,
    reference: datetime | None,
    zone: str,
    horizon: int,
) -> None:
    name, build, where = field
    rules = parse_rules({"site": {"timezone": zone}, "time": {"horizon_days": horizon}})
    out = run(build(value), rules=rules, reference=reference)  # never raises
    latest = datetime(2200, 1, 1, tzinfo=UTC)
    if reference is not None:
        latest = min(latest, reference + timedelta(days=horizon, microseconds=1))
    for event in out.events:
        assert datetime(1900, 1, 1, tzinfo=UTC) <= event.time < latest, (name, value)
    for err in out.errors:
        assert err.code != "exception", err.diagnostics
        assert err.expression is not None and err.diagnostics.startswith(f"{err.expression}: ")
    if any(e.expression == where for e in out.errors):
        assert out.events == []
