"""WeCom callback security: ``msg_signature`` checks, AES decryption and a guarded XML reader.

WeCom signs every callback with ``sha1(sorted([token, timestamp, nonce, encrypt]))`` and encrypts the
message with AES-256-CBC (key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 to 32 bytes; the
plaintext is 16 random bytes, a 4-byte length, the XML and the corp id). The AES part is wechatpy's
``wechatpy.enterprise.crypto`` (checked against Tencent's sample vectors in the tests); the signature
is compared here with :func:`hmac.compare_digest` (wechatpy compares with ``!=``), and the timestamp
age is checked here too (wechatpy does not).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET

from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

MAX_XML_BYTES = 256 * 1024  # WeCom's callbacks are a few hundred bytes; anything this big is not one
_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class CryptoError(Exception):
    """The message could not be decrypted (wrong key, corp id or a mangled ciphertext)."""


class XMLError(ValueError):
    """Not a well-formed, declaration-free ``<xml>`` document of a sensible size."""


def aes_key_ok(encoding_aes_key: str) -> bool:
    """An EncodingAESKey is 43 base64 characters that decode (with "=") to 32 bytes."""
    if len(encoding_aes_key) != 43:
        return False
    try:
        return len(base64.b64decode(encoding_aes_key + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    parts = sorted([token, timestamp, nonce, encrypt])
    return hashlib.sha1("".join(parts).encode()).hexdigest()


class WeComCrypto:
    def __init__(self, *, token: str, aes_key: str, corp_id: str) -> None:
        if not aes_key_ok(aes_key):
            raise ValueError("the EncodingAESKey must be the 43 characters shown in the WeCom admin console")
        self._token = token
        self._corp_id = corp_id
        self._sdk = WeChatCrypto(token, aes_key, corp_id)

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        expected = signature(self._token, timestamp, nonce, encrypt)
        return hmac.compare_digest(expected.encode(), msg_signature.encode())

    def decrypt(self, encrypt: str) -> str:
        """The plaintext of an ``Encrypt`` value (or an ``echostr``); checks the embedded corp id."""
        try:
            plain = PrpCrypto(self._sdk.key).decrypt(encrypt, self._corp_id)
        except Exception as exc:  # noqa: BLE001 — bad base64, padding, length or corp id all mean "reject"
            raise CryptoError(f"cannot decrypt: {type(exc).__name__}") from None
        if not isinstance(plain, str):
            raise CryptoError("cannot decrypt")
        return plain

    def encrypt(self, plaintext: str, *, nonce: str, timestamp: str) -> str:
        """The callback body WeCom would send for ``plaintext`` (tests, benchmarks and replies)."""
        return str(self._sdk.encrypt_message(plaintext, nonce, timestamp))


def parse_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> dict[str, str]:
    """The children of an ``<xml>`` root as ``{tag: text}``. No DOCTYPE or entity declarations (no
    entity expansion tricks), a size cap, and only the first level (WeCom's messages are flat)."""
    if len(data) > max_bytes:
        raise XMLError("too large")
    if _DECLARATIONS.search(data):
        raise XMLError("DOCTYPE and ENTITY declarations are not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise XMLError(f"not well-formed: {exc}") from None
    if root.tag != "xml":
        raise XMLError(f"unexpected root element {root.tag!r}")
    return {child.tag: (child.text or "").strip() for child in root}
