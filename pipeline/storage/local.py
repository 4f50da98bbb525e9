"""Local-folder storage, the embedded default."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.domain.errors import PermanentError
from pipeline.storage.base import ObjectInfo, Storage


class LocalStorage(Storage):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if path != self.root and self.root not in path.parents:
            # A symlink or '..' pointing outside: the same key fails the same way on every retry.
            raise PermanentError(
                f"key {key!r} escapes the storage root {self.root} (a symlink or '..' resolves outside "
                "it): replace it with a regular file or folder"
            )
        return path

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (PermissionError, IsADirectoryError) as exc:
            # An operator must fix the file or its permissions: retrying in a minute won't.
            raise PermanentError(f"cannot read {self.describe(key)}: {exc.strerror}") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        # Temp file in the same folder + rename: a reader sees the old document or the new one, never half.
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            return None
        return ObjectInfo(key=key, size=st.st_size, modified=st.st_mtime)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue  # temp files of in-flight atomic writes, editor swap files
                full = Path(dirpath, name)
                key = full.relative_to(self.root).as_posix()
                try:
                    st = full.stat()
                    problem = self._problem(full, st)
                except FileNotFoundError:
                    continue  # deleted while we walked (or a dangling symlink)
                except OSError as exc:  # a symlink loop, a name too long
                    st, problem = None, f"{name} cannot be read ({exc.strerror})"
                yield ObjectInfo(
                    key=key,
                    size=st.st_size if st else 0,
                    modified=st.st_mtime if st else 0.0,
                    problem=problem,
                )

    def _unfollowed(self, prefix: str) -> Path:
        """``prefix`` itself, a symlink not followed (erasing a link that leaves the root removes the link)."""
        raw = self.root / prefix.strip("/")
        if not raw.is_symlink():
            return self._path(prefix)
        self._path(str(Path(prefix.strip("/")).parent))  # raises if the folder holding the link escapes
        return raw

    def tree(self, prefix: str) -> Iterator[str]:
        base = self._unfollowed(prefix)
        if base.is_file() or base.is_symlink():
            yield base.relative_to(self.root).as_posix()
            return
        for dirpath, _dirnames, filenames in os.walk(base):  # symlinked folders are not followed
            for name in filenames:
                yield Path(dirpath, name).relative_to(self.root).as_posix()

    def delete_tree(self, prefix: str) -> int:
        if not prefix.strip("/"):
            raise ValueError("delete_tree needs a folder below the storage root")
        base = self._unfollowed(prefix)
        count = sum(1 for _ in self.tree(prefix))
        if base.is_dir() and not base.is_symlink():
            shutil.rmtree(base)  # removes symlinks inside, never what they point to
        else:
            base.unlink(missing_ok=True)
        return count

    def _problem(self, full: Path, st: os.stat_result) -> str | None:
        """Why a listed entry cannot be read as an upload, or None for a regular file inside the root."""
        if full.is_symlink():
            target = full.resolve()
            if target != self.root and self.root not in target.parents:
                return (
                    f"{full.name} is a symlink that leads outside the uploads folder: upload a regular file"
                )
        if not stat.S_ISREG(st.st_mode):
            return f"{full.name} is not a regular file (a FIFO, socket or device): upload a regular file"
        return None

    @contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(self.describe(key))
        yield path
