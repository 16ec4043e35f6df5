"""FHIR dateTime rendering for outbound resources (UTC, second precision unless finer)."""

from __future__ import annotations

from datetime import UTC, datetime


def fhir_datetime(dt: datetime) -> str:
    """``2026-03-08T15:00:00Z``; microseconds kept when present (FHIR allows fractions)."""
    dt = dt.astimezone(UTC)
    if dt.year >= 1000:  # the same text as the strftime below, in a third of the time
        return dt.isoformat()[:-6] + "Z"  # drops "+00:00"
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
