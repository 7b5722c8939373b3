"""The content-addressed file store that keeps raw audio and documents."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from storage.files import FileStore, FileTooLarge


def test_same_bytes_are_stored_once_and_read_back(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    data = b"#!AMR\n" + bytes(range(256)) * 10
    a, b = store.put(data), store.put(data)
    assert a == b and a.sha256 == hashlib.sha256(data).hexdigest() and a.size == len(data)
    assert store.read(a.sha256) == data and store.exists(a.sha256)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_names_from_outside_never_reach_the_filesystem(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    for bad in ("../../etc/passwd", "A" * 64, "abc", ""):
        assert not store.exists(bad)
        with pytest.raises(ValueError):
            store.read(bad)


def test_a_size_limit_is_enforced_before_anything_is_written(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    with pytest.raises(FileTooLarge):
        store.put(b"x" * 1025, max_bytes=1024)
    assert not (tmp_path / "files").exists()
