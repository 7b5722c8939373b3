"""A content-addressed file store: audio answers and documents are kept by their sha256, not in rows.

``put`` is idempotent (the same bytes are stored once) and atomic (a temp file renamed into place,
so a crash never leaves a half-written file under a real name). Names are validated hex, so no path
from outside ever reaches the filesystem.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

_HEX = re.compile(r"[0-9a-f]{64}")


class FileTooLarge(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    size: int


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _HEX.fullmatch(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes, *, max_bytes: int | None = None) -> StoredFile:
        if max_bytes is not None and len(data) > max_bytes:
            raise FileTooLarge(f"{len(data)} bytes > {max_bytes}")
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredFile(digest, len(data))

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        try:
            return self.path(sha256).is_file()
        except ValueError:
            return False
