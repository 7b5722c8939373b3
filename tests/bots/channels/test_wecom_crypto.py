"""WeCom callback crypto against Tencent's own sample vectors and an independent AES-CBC decryption,
the guarded XML reader, and the translation of the recorded messages into Inbound values."""

from __future__ import annotations

import base64
import json
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from Crypto.Cipher import AES
from wechatpy.enterprise.crypto import WeChatCrypto

from bots.channels.wecom import translate
from bots.channels.wecom_crypto import CryptoError, WeComCrypto, XMLError, aes_key_ok, parse_xml, signature
from flows.values import MediaRef
from tests.bots.channels import wecom_payloads as wp

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "wecom" / "official_vectors.json").read_text("utf-8")
)


@pytest.mark.parametrize("name", ["wecom_2016", "wecom_2014"])
def test_the_official_sample_vectors_verify_and_decrypt(name: str) -> None:
    v = VECTORS[name]
    crypto = WeComCrypto(token=v["token"], aes_key=v["aes_key"], corp_id=v["corp_id"])
    url = v["verify_url"]
    assert crypto.verify(url["msg_signature"], url["timestamp"], url["nonce"], url["echostr"])
    assert crypto.decrypt(url["echostr"]) == url["plain"]
    msg = v["message"]
    encrypt = parse_xml(msg["body"].encode())["Encrypt"]
    assert crypto.verify(msg["msg_signature"], msg["timestamp"], msg["nonce"], encrypt)
    assert crypto.decrypt(encrypt) == msg["plain"]
    # one changed character anywhere breaks the signature
    assert not crypto.verify(msg["msg_signature"], msg["timestamp"], msg["nonce"], encrypt[:-3] + "A==")
    assert not crypto.verify(msg["msg_signature"], str(int(msg["timestamp"]) + 1), msg["nonce"], encrypt)
    assert not crypto.verify(msg["msg_signature"].upper(), msg["timestamp"], msg["nonce"], encrypt)


def test_the_official_message_translates() -> None:
    v = VECTORS["wecom_2016"]
    crypto = WeComCrypto(token=v["token"], aes_key=v["aes_key"], corp_id=v["corp_id"])
    encrypt = parse_xml(v["message"]["body"].encode())["Encrypt"]
    inbound = translate(parse_xml(crypto.decrypt(encrypt).encode()))
    assert inbound is not None
    assert (inbound.platform, inbound.conversation_id, inbound.user_ref) == (
        "wecom",
        "ChenJiaShun",
        "ChenJiaShun",
    )
    assert (inbound.message_id, inbound.text) == ("1456453720", "你好")


def _decrypt_independently(encrypt: str, aes_key: str) -> tuple[bytes, str, str]:
    """WeCom's documented layout, without wechatpy: AES-256-CBC, IV = key[:16], PKCS#7 to 32 bytes;
    random(16) + len(4, network order) + msg + receive id."""
    key = base64.b64decode(aes_key + "=")
    raw = AES.new(key, AES.MODE_CBC, key[:16]).decrypt(base64.b64decode(encrypt))
    pad = raw[-1]
    assert 1 <= pad <= 32 and raw[-pad:] == bytes([pad]) * pad and len(raw) % 32 == 0
    body = raw[:-pad]
    (length,) = struct.unpack("I", body[16:20])
    length = socket.ntohl(length)
    return body[:16], body[20 : 20 + length].decode(), body[20 + length :].decode()


def test_our_encryption_is_the_documented_layout_and_round_trips() -> None:
    crypto = WeComCrypto(token=wp.TOKEN, aes_key=wp.AES_KEY, corp_id=wp.CORP_ID)
    plain = wp.message("text", content="我的邀请码是 ABCD-2345 ]]> <b>&amp;")
    envelope = parse_xml(crypto.encrypt(plain, nonce="1234567", timestamp="1795660000").encode())
    assert envelope["MsgSignature"] == signature(wp.TOKEN, "1795660000", "1234567", envelope["Encrypt"])
    random16, msg, receive_id = _decrypt_independently(envelope["Encrypt"], wp.AES_KEY)
    assert len(random16) == 16 and msg == plain and receive_id == wp.CORP_ID
    # wechatpy decrypts it too, and so do we
    sdk = WeChatCrypto(wp.TOKEN, wp.AES_KEY, wp.CORP_ID)
    assert sdk.decrypt_message(envelope, envelope["MsgSignature"], "1795660000", "1234567") == plain
    assert crypto.decrypt(envelope["Encrypt"]) == plain
    assert parse_xml(plain.encode())["Content"] == "我的邀请码是 ABCD-2345 ]]> <b>&amp;"


def test_another_corp_or_a_mangled_ciphertext_does_not_decrypt() -> None:
    ours = WeComCrypto(token=wp.TOKEN, aes_key=wp.AES_KEY, corp_id=wp.CORP_ID)
    encrypt = parse_xml(ours.encrypt("<xml/>", nonce="1", timestamp="2").encode())["Encrypt"]
    other_corp = WeComCrypto(token=wp.TOKEN, aes_key=wp.AES_KEY, corp_id="wwsomeoneelse")
    with pytest.raises(CryptoError):
        other_corp.decrypt(encrypt)
    v = VECTORS["wecom_2016"]
    other_key = WeComCrypto(token=wp.TOKEN, aes_key=v["aes_key"], corp_id=wp.CORP_ID)
    with pytest.raises(CryptoError):
        other_key.decrypt(encrypt)
    for bad in ("not base64 !!", "", base64.b64encode(b"x" * 31).decode(), encrypt[:-8]):
        with pytest.raises(CryptoError):
            ours.decrypt(bad)


def test_encoding_aes_keys_are_checked() -> None:
    assert aes_key_ok(wp.AES_KEY)
    assert not aes_key_ok(wp.AES_KEY[:-1])
    assert not aes_key_ok(wp.AES_KEY + "A")
    assert not aes_key_ok("!" * 43)
    with pytest.raises(ValueError, match="43 characters"):
        WeComCrypto(token="t", aes_key="short", corp_id="c")


# ------------------------------------------------------------------ the XML reader


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">]><xml><A>&a;</A></xml>',
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><xml>&lol2;</xml>',
        b'<!doctype xml SYSTEM "file:///etc/passwd"><xml/>',
        b"<xml><!ENTITY x SYSTEM 'http://127.0.0.1/'></xml>",
        b"<xml><Encrypt>abc</Encrypt>",
        b"<xml><Encrypt>abc</Encrypt></xml><xml/>",
        b"not xml at all",
        b"",
        b"<root><Encrypt>abc</Encrypt></root>",
        b"<xml>" + b"<A>x</A>" * 40000 + b"</xml>",
    ],
)
def test_dangerous_or_malformed_xml_is_refused(data: bytes) -> None:
    with pytest.raises(XMLError):
        parse_xml(data)


def test_flat_xml_reads_as_a_mapping() -> None:
    got = parse_xml(b"<xml><ToUserName><![CDATA[ww1]]></ToUserName>\n<AgentID>7</AgentID><Empty/></xml>")
    assert got == {"ToUserName": "ww1", "AgentID": "7", "Empty": ""}


# ------------------------------------------------------------------ translation


def _translated(name: str, **fields: Any):  # type: ignore[no-untyped-def]
    return translate(parse_xml(wp.message(name, user="lisi", create_time=1795660000, **fields).encode()))


def test_recorded_messages_translate() -> None:
    text = _translated("text", content=" 我的邀请码 ", msg_id=77)
    assert text is not None and (text.message_id, text.text, text.media, text.payload) == (
        "77",
        "我的邀请码",
        None,
        None,
    )
    assert (text.platform, text.conversation_id, text.user_ref) == ("wecom", "lisi", "lisi")

    voice = _translated("voice", media_id="M-voice", msg_id=78)
    assert voice is not None and voice.media == MediaRef("voice", "M-voice", "audio/amr")
    image = _translated("image", media_id="M-img", msg_id=79)
    assert image is not None and image.media == MediaRef("image", "M-img")
    doc = _translated("file", media_id="M-doc", file_name="学历证书.pdf", msg_id=80)
    assert doc is not None and doc.media == MediaRef("file", "M-doc", name="学历证书.pdf")
    video = _translated("video", media_id="M-vid", msg_id=81)
    assert video is not None and video.media == MediaRef("file", "M-vid", "video/mp4")

    click = _translated("template_card_event", key="iv_start", task_id="tb-1")
    assert click is not None and (click.payload, click.text) == ("iv_start", None)
    assert click.message_id == "evt:lisi:1795660000:tb-1:iv_start"
    menu = _translated("click", key="status")
    assert menu is not None and menu.payload == "status"

    assert _translated("enter_agent") is None
    assert _translated("location") is None
    assert translate({"MsgType": "text", "Content": "x"}) is None  # no sender
