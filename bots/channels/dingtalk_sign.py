"""DingTalk's HTTP callback signature and a guard against re-used signatures.

DingTalk signs a robot callback with headers ``timestamp`` (ms) and ``sign`` =
base64(HmacSHA256(appSecret, timestamp + "\\n" + appSecret)). The signature covers the timestamp only,
not the body: a captured (timestamp, sign) pair would let anyone post *any* body for the hour the
timestamp stays fresh. :class:`SignatureGuard` therefore binds each pair to the first ``msgId`` it
carried; the same pair with another message is refused (a redelivery of the same message passes and is
deduplicated downstream).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import OrderedDict

MAX_AGE_MS = 3600 * 1000  # DingTalk: "相差1小时以上，则认为是非法的请求"
MAX_FUTURE_MS = 5 * 60 * 1000  # clock skew we tolerate the other way
GUARD_SIZE = 100_000


def signature(timestamp: str, app_secret: str) -> str:
    """The ``sign`` header DingTalk sends with ``timestamp``."""
    digest = hmac.new(
        app_secret.encode("utf-8"), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def check(timestamp: str | None, sign: str | None, *, app_secret: str, now_ms: int) -> str | None:
    """None when the headers are DingTalk's and fresh; otherwise why not (for the log, not the caller)."""
    if not timestamp or not sign:
        return "missing timestamp or sign header"
    if not timestamp.isdigit() or len(timestamp) > 16:
        return "timestamp is not a millisecond count"
    ts = int(timestamp)
    if now_ms - ts > MAX_AGE_MS:
        return "timestamp older than one hour"
    if ts - now_ms > MAX_FUTURE_MS:
        return "timestamp in the future"
    if not hmac.compare_digest(signature(timestamp, app_secret).encode(), sign.strip().encode()):
        return "signature mismatch"
    return None


class SignatureGuard:
    """Remembers which message each fresh (timestamp, sign) pair carried."""

    def __init__(self, size: int = GUARD_SIZE) -> None:
        self._seen: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._size = size

    def admit(self, timestamp: str, message_id: str, *, now_ms: int) -> bool:
        """False when this timestamp's signature already came with a different message."""
        self._prune(now_ms)
        seen = self._seen.get(timestamp)
        if seen is not None:
            return hmac.compare_digest(seen[1].encode(), message_id.encode())
        self._seen[timestamp] = (int(timestamp), message_id)
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True

    def _prune(self, now_ms: int) -> None:
        horizon = now_ms - MAX_AGE_MS - MAX_FUTURE_MS
        while self._seen:
            key, (ts, _) = next(iter(self._seen.items()))
            if ts >= horizon:
                break
            del self._seen[key]
