"""``carepath web``: the case managers' worklist, the FHIR API and the HTTP front door.

Its own process (DESIGN.md "The web service"): it talks to Kafka and to its own read
model (SQLite, rebuilt from the compacted ``care.tasks``/``care.referrals``), never to the
worker's tables, so web instances and workers scale apart.
"""
