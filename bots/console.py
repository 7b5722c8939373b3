"""The console channel: ``talentbot chat --user ID`` reads lines from stdin and prints the replies.

Pipe-able (no prompt when stdin is not a terminal); choices print as numbered lines and a reply of
"2" picks the second, as on any channel without buttons. Reminders due for this user print too.
``/voice FILE`` sends an audio file as a voice message (an interview answer); the console then waits
for the worker and prints what comes back (the next question).
"""

from __future__ import annotations

import asyncio
import mimetypes
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

from bots.runtime import Runtime
from flows.engine import handle
from flows.values import Choice, Inbound, MediaRef, Reply
from storage import repo
from storage.files import FileTooLarge

PLATFORM = "console"
MAX_VOICE = 10 * 2**20


def render(reply: Reply) -> str:
    text = reply.as_numbered_text()
    for f in reply.files:
        text += f"\n📎 {f.name}: {f.url}"
    return text


async def run_console(rt: Runtime, user: str, *, stdin: TextIO, stdout: TextIO) -> int:
    interactive = stdin.isatty()
    last_delivery = 0
    await rt.start()
    try:
        while True:
            if interactive:
                stdout.write("> ")
                stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            inbound = await asyncio.to_thread(_inbound, rt, user, line.rstrip("\n"))
            if isinstance(inbound, str):
                stdout.write(inbound + "\n\n")
                continue
            outcome = await handle(inbound, rt.deps)
            for r in outcome.replies:
                stdout.write(render(r) + "\n\n")
            await asyncio.to_thread(_settle, rt)
            with rt.sessions() as s:
                for d in repo.pending_deliveries(
                    s, platform=PLATFORM, conversation_id=user, after=last_delivery
                ):
                    stdout.write("🔔 " + render(_reply(d.body)) + "\n\n")
                    last_delivery = d.id
            stdout.flush()
    finally:
        await rt.stop()
    return 0


def _inbound(rt: Runtime, user: str, line: str) -> Inbound | str:
    """The message for one input line, or an error to print (zh and en: the console is for both)."""
    media = None
    text: str | None = line
    if line.startswith("/voice"):
        path = Path(line[len("/voice") :].strip()).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            return f"无法读取录音文件 / cannot read the recording {path}: {exc.strerror or exc}"
        if rt.deps.files is None:
            return "没有文件存储 / no file store configured"
        try:
            stored = rt.deps.files.put(data, max_bytes=MAX_VOICE)
        except FileTooLarge:
            return f"录音太大了（上限 {MAX_VOICE // 2**20} MB）/ the recording is too large ({MAX_VOICE // 2**20} MB at most)"
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        media, text = MediaRef("voice", stored.sha256, mime, stored.size), None
    return Inbound(
        platform=PLATFORM,
        conversation_id=user,
        user_ref=user,
        message_id=uuid.uuid4().hex,
        text=text,
        media=media,
    )


def _settle(rt: Runtime, timeout: float = 120.0) -> None:
    """Relay the side effects and, with the in-process worker, wait for it (an answer being scored)."""
    rt.relay.drain()
    wait = getattr(rt.jobs, "wait_idle", None)
    if wait is not None and wait(timeout):
        rt.relay.drain()


def _reply(body: dict[str, Any]) -> Reply:
    return Reply(body["text"], tuple(Choice(c["title"], c["payload"]) for c in body.get("choices", ())))


def main_console(rt: Runtime, user: str) -> int:
    return asyncio.run(run_console(rt, user, stdin=sys.stdin, stdout=sys.stdout))
