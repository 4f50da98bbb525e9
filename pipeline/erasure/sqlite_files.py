"""Making deleted SQLite rows really gone: a deleted row's bytes stay in free pages and the WAL until
the file is rebuilt (``VACUUM``) and the WAL emptied (``wal_checkpoint(TRUNCATE)``)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

_HEADER = b"SQLite format 3\x00"


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(_HEADER)) == _HEADER
    except OSError:
        return False


def compact(path: Path) -> bool:
    """Rebuild ``path`` and empty its WAL; False (logged) when another process keeps it busy."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
        busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy and busy[0]:
            log.warning(
                "%s: a reader kept the WAL from being emptied; run the erasure again later", path.name
            )
            return False
        return True
    except sqlite3.OperationalError as exc:
        log.warning("%s could not be compacted (%s); run the erasure again later", path.name, exc)
        return False
    finally:
        connection.close()


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for another database or an in-memory one)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url.removeprefix("sqlite:///")).expanduser()
