"""The console channel: ``talentbot chat --user ID`` reads lines from stdin and prints the replies.

Pipe-able (no prompt when stdin is not a terminal); choices print as numbered lines and a reply of
"2" picks the second, as on any channel without buttons. Reminders due for this user print too.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TextIO

from bots.runtime import Runtime
from flows.engine import handle
from flows.values import Inbound, Reply
from storage import repo

PLATFORM = "console"


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
            inbound = Inbound(
                platform=PLATFORM,
                conversation_id=user,
                user_ref=user,
                message_id=uuid.uuid4().hex,
                text=line.rstrip("\n"),
            )
            outcome = await handle(inbound, rt.deps)
            for r in outcome.replies:
                stdout.write(render(r) + "\n\n")
            await asyncio.to_thread(rt.relay.drain)
            with rt.sessions() as s:
                for d in repo.pending_deliveries(
                    s, platform=PLATFORM, conversation_id=user, after=last_delivery
                ):
                    stdout.write("🔔 " + render(Reply(d.body["text"])) + "\n\n")
                    last_delivery = d.id
            stdout.flush()
    finally:
        await rt.stop()
    return 0


def main_console(rt: Runtime, user: str) -> int:
    return asyncio.run(run_console(rt, user, stdin=sys.stdin, stdout=sys.stdout))
