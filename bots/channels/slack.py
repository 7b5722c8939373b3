"""The slack adapter — not built yet: the platform stays off."""

from __future__ import annotations

from bots.channels.base import Channel, ChannelContext


def create(ctx: ChannelContext) -> Channel | None:
    return None
