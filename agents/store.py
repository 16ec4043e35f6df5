"""The worker's table store (``CAREPATH_STORE``): checked before Faust starts.

``memory://`` keeps the tables in the process: a restart reads every table's changelog
from the start. ``rocksdb://`` keeps them in RocksDB under ``CAREPATH_DATADIR``
(``<datadir>/v1/tables/patient-state-<partition>.db``) through ``rocksdict`` (the
``carepath[rocksdb]`` extra; Faust picks rocksdict when it is importable), together with
the offset of the last changelog record each partition's database holds; a restart on the
same data directory reads only the changelog records past it.
"""

from __future__ import annotations

from importlib.util import find_spec

from agents.settings import Settings

#: What to install for ``rocksdb://``.
ROCKSDB_EXTRA = "pip install 'carepath[rocksdb]'"


class StoreUnavailable(ValueError):
    """The store of the settings cannot be opened in this environment (one line)."""


def uses_rocksdb(settings: Settings) -> bool:
    return settings.store.strip().lower().startswith("rocksdb:")


def check_store(settings: Settings) -> None:
    """Raise :class:`StoreUnavailable` for ``rocksdb://`` without ``rocksdict`` (Faust
    would fail later, deep in start-up, with a traceback naming other packages)."""
    if uses_rocksdb(settings) and find_spec("rocksdict") is None:
        raise StoreUnavailable(
            f"rocksdict missing: CAREPATH_STORE={settings.store} needs the rocksdb extra, "
            f"{ROCKSDB_EXTRA} (or make setup)"
        )
