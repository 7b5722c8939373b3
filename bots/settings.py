"""Configuration from the environment (see the README's table). Nothing here has a default secret."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    tz: ZoneInfo
    default_language: str
    content_dir: Path
    var_dir: Path
    secret_key: str
    public_url: str
    invite_days: int
    broker_url: str | None = None  # Celery broker for the transcription/scoring worker; None: in-process
    asr_model: str | None = None  # a CTranslate2 model directory or a model name; None: the bundled base
    asr_url: str | None = None  # an OpenAI-compatible /v1/audio/transcriptions service instead of Whisper
    asr_api_key: str | None = None
    # every TALENTBOT_* setting, the config file's under the environment's: what platform adapters read
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        e = dict(os.environ if env is None else env)
        config = e.get("TALENTBOT_CONFIG_FILE")
        if config:
            e = {**load_config_file(Path(config)), **e}
        var_dir = Path(e.get("TALENTBOT_VAR_DIR", "var")).resolve()
        values: dict[str, object] = {
            "database_url": e.get("TALENTBOT_DATABASE_URL") or f"sqlite:///{var_dir / 'talentbot.db'}",
            "tz": ZoneInfo(e.get("TALENTBOT_TIMEZONE", "Asia/Shanghai")),
            "default_language": e.get("TALENTBOT_DEFAULT_LANGUAGE", "zh"),
            "content_dir": Path(e.get("TALENTBOT_CONTENT_DIR", str(ROOT / "content"))),
            "var_dir": var_dir,
            "secret_key": e.get("TALENTBOT_SECRET_KEY") or "",
            "public_url": e.get("TALENTBOT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            "invite_days": int(e.get("TALENTBOT_INVITE_DAYS", "14")),
            "broker_url": e.get("TALENTBOT_BROKER_URL") or None,
            "asr_model": e.get("TALENTBOT_ASR_MODEL") or None,
            "asr_url": e.get("TALENTBOT_ASR_URL") or None,
            "asr_api_key": e.get("TALENTBOT_ASR_API_KEY") or None,
            "env": {k: v for k, v in e.items() if k.startswith("TALENTBOT_")},
        }
        values.update(overrides)
        s = cls(**values)  # type: ignore[arg-type]
        if s.default_language not in ("zh", "en"):
            raise ValueError("TALENTBOT_DEFAULT_LANGUAGE must be zh or en")
        return s

    def with_secret(self) -> Settings:
        """A secret key from the environment, or one generated once and kept in var/ (0600)."""
        if self.secret_key:
            return self
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
        from dataclasses import replace

        return replace(self, secret_key=path.read_text().strip())


def load_config_file(path: Path) -> dict[str, str]:
    """A YAML mapping of setting names to values (``TALENTBOT_WECOM_CORP_ID: ww…``); the environment
    wins over it. Secrets may live here instead of in the environment (keep the file 0600)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except OSError as exc:
        raise ValueError(f"TALENTBOT_CONFIG_FILE={path}: {exc.strerror or exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ValueError(f"TALENTBOT_CONFIG_FILE={path} must be a mapping of TALENTBOT_* names to values")
    unknown = [k for k in data if not k.startswith("TALENTBOT_")]
    if unknown:
        raise ValueError(f"TALENTBOT_CONFIG_FILE={path}: not TALENTBOT_* settings: {', '.join(unknown)}")
    return {k: "" if v is None else str(v) for k, v in data.items()}
