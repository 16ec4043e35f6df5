"""The one exception of the inbound boundary: a problem at a path inside a resource.

Readers raise :class:`Problem` with a path relative to the resource they read
(``"valueInteger"``, ``"subject.reference"``); the dispatcher prefixes the resource's
own location (``"Observation"``, ``"Bundle.entry[3].resource"``) and turns it into an
``InvalidInput``. ``code`` is a FHIR ``issue-type`` code: ``structure`` (wrong JSON
type), ``required`` (missing), ``value`` (right type, unusable value), ``too-long``,
``too-costly``.
"""

from __future__ import annotations


class Problem(Exception):
    """One reason a document is invalid input (contract §6)."""

    def __init__(self, path: str, message: str, code: str = "value") -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.code = code

    def expression(self, root: str) -> str:
        return f"{root}.{self.path}" if self.path else root


def show(value: object) -> str:
    """A short description of an unexpected JSON value for diagnostics."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
