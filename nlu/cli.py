"""``talentbot nlu parse`` backend: one message as pretty JSON, or stdin line by line as JSON lines."""

from __future__ import annotations

import json
from typing import TextIO

from nlu.parse import NLU

__all__ = ["parse_command"]


def parse_command(nlu: NLU, text: str | None, *, stdin: TextIO, stdout: TextIO) -> int:
    """Print the Rasa-shaped parse of ``text``; with ``text=None`` parse every line of ``stdin``.

    Stdin mode prints exactly one compact JSON object per input line, in order (an empty line gives
    the fallback parse), and flushes after each so it can sit at the end of a pipe. Returns the exit
    status.
    """
    if text is not None:
        stdout.write(json.dumps(nlu.parse(text).to_rasa(), ensure_ascii=False, indent=2) + "\n")
        return 0
    for line in stdin:
        message = line[:-1] if line.endswith("\n") else line
        message = message[:-1] if message.endswith("\r") else message
        stdout.write(
            json.dumps(nlu.parse(message).to_rasa(), ensure_ascii=False, separators=(",", ":")) + "\n"
        )
        stdout.flush()
    return 0
