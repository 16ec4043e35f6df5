"""Deterministic output ids (contract §5, DESIGN.md convention 7).

An id is a UUIDv5 of (rule id, patient key, trigger identity, resource kind) in the
project namespace, so a replay or a redelivery re-creates the same resource id and an
upserting sink stays idempotent.
"""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("6f0c6d2e-6c1b-5d7e-9a43-3c2a1f0b7e55")


def output_id(rule: str, patient: str, trigger: str, kind: str) -> str:
    """The id of the ``kind`` ("Task" or "ServiceRequest") that ``rule`` emits for
    ``patient`` because of ``trigger`` (an event id or a deadline identity)."""
    return str(uuid.uuid5(NAMESPACE, f"{rule}|{patient}|{trigger}|{kind}"))
