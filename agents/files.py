"""Files that hold patient data (issue 11): created readable and writable by their owner
only (``0600``), whatever the umask; an existing regular file is truncated and set to
``0600`` too. Devices and pipes (``/dev/stdout``) keep their modes."""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

PRIVATE = 0o600


def private_writer(path: str | os.PathLike[str]) -> BinaryIO:
    """``open(path, "wb")`` for a file with patient data (outputs, dead letters, ignored
    records): mode ``0600``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, PRIVATE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise
