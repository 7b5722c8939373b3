"""WeCom callback requests built from the recorded messages in ``wecom/``, encrypted and signed exactly
as WeCom does (AES-256-CBC with the EncodingAESKey, then ``msg_signature`` = sha1 over the sorted token,
timestamp, nonce and ciphertext, in the query string; the body is ``<xml><ToUserName/><Encrypt/>
<AgentID/></xml>``).

``text_message_request()`` is the one a benchmark imports::

    path, headers, body = text_message_request("你好", user="zhangsan")
    httpx.post(base_url + path, headers=headers, content=body)

with the server configured by ``env(api_base)`` (the test corp's credentials).
"""

from __future__ import annotations

import itertools
import secrets
import string
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bots.channels.wecom_crypto import WeComCrypto, parse_xml, signature

SAMPLES = Path(__file__).resolve().parent / "wecom"
PATH = "/hooks/wecom/"
CORP_ID = "ww5f3a1c2b7d9e0f41"
AGENT_ID = 1000002
SECRET = "talentbot-test-app-secret-0123456789abcdefgh"
TOKEN = "tbTestToken20261125"
AES_KEY = "VGFsZW50Ym90IHRlc3QgRW5jb2RpbmdBRVNLZXkgMDE"  # 43 characters: 32 bytes after b64decode(+"=")

# fresh message ids per process (MsgId is what the adapter deduplicates on)
_ids = itertools.count(secrets.randbelow(1 << 30) * 1000 + 1)


def env(api_base: str, **extra: str) -> dict[str, str]:
    """The settings for the test corp's app, its API at ``api_base`` (a fake on 127.0.0.1)."""
    return {
        "TALENTBOT_WECOM_CORP_ID": CORP_ID,
        "TALENTBOT_WECOM_AGENT_ID": str(AGENT_ID),
        "TALENTBOT_WECOM_SECRET": SECRET,
        "TALENTBOT_WECOM_TOKEN": TOKEN,
        "TALENTBOT_WECOM_AES_KEY": AES_KEY,
        "TALENTBOT_WECOM_API_BASE": api_base,
        **extra,
    }


def next_id() -> int:
    return next(_ids)


def _cdata_safe(value: Any) -> str:
    return str(value).replace("]]>", "]]]]><![CDATA[>")


def message(name: str, *, user: str = "zhangsan", create_time: int | None = None, **fields: Any) -> str:
    """A recorded message (``text``, ``voice``, ``template_card_event``…) with its ``$fields`` filled;
    ``msg_id`` and ``create_time`` get fresh values unless given."""
    template = string.Template((SAMPLES / f"{name}.xml").read_text(encoding="utf-8"))
    values = {
        "corp_id": CORP_ID,
        "agent_id": AGENT_ID,
        "user": user,
        "create_time": create_time if create_time is not None else int(time.time()),
        "msg_id": fields.pop("msg_id", None) or next_id(),
        "task_id": f"tb-{next_id()}",
        "response_code": f"rc-{next_id()}",
        **fields,
    }
    return template.substitute({k: _cdata_safe(v) for k, v in values.items()})


def callback_request(
    plaintext: str,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
    token: str = TOKEN,
    aes_key: str = AES_KEY,
    corp_id: str = CORP_ID,
) -> tuple[str, dict[str, str], bytes]:
    """``(path with query, headers, body)`` of the POST WeCom makes to deliver ``plaintext``."""
    crypto = WeComCrypto(token=token, aes_key=aes_key, corp_id=corp_id)
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**10))
    envelope = crypto.encrypt(plaintext, nonce=nonce, timestamp=ts)
    signed = parse_xml(envelope.encode())
    encrypt, sig = signed["Encrypt"], signed["MsgSignature"]
    body = (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
        f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
    ).encode()
    query = urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
    return f"{PATH}?{query}", {"Content-Type": "text/xml"}, body


def url_check_request(
    plain: str = "4913826719380574125", *, timestamp: int | None = None, token: str = TOKEN
) -> tuple[str, str]:
    """``(path with query, expected answer)`` of the GET WeCom makes when the admin saves the URL."""
    crypto = WeComCrypto(token=token, aes_key=AES_KEY, corp_id=CORP_ID)
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = str(secrets.randbelow(10**10))
    echostr = parse_xml(crypto.encrypt(plain, nonce=nonce, timestamp=ts).encode())["Encrypt"]
    sig = signature(token, ts, nonce, echostr)
    query = urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce, "echostr": echostr})
    return f"{PATH}?{query}", plain


def text_message_request(
    text: str = "你好",
    *,
    user: str = "zhangsan",
    msg_id: int | None = None,
    timestamp: int | None = None,
) -> tuple[str, dict[str, str], bytes]:
    """One encrypted, signed inbound text message for ``/hooks/wecom/``: ``(path, headers, body)``."""
    ts = timestamp if timestamp is not None else int(time.time())
    plain = message("text", user=user, content=text, msg_id=msg_id or next_id(), create_time=ts)
    return callback_request(plain, timestamp=ts)
