"""The inbound boundary, one module per concern: bytes → JSON (``parse``), typed field
reads (``fields``), references and patient keys (``refs``), Bundles (``bundle``,
``message``), one resource kind per module (contract §2–3). Entry point:
:func:`schemas.ingest.ingest`.
"""
