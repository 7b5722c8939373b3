"""Chat platform adapters. One line per platform: its name and the module with ``create(ctx)``."""

from __future__ import annotations

PLATFORMS: dict[str, str] = {
    "wecom": "bots.channels.wecom",
    "dingtalk": "bots.channels.dingtalk",
    "slack": "bots.channels.slack",
    "telegram": "bots.channels.telegram",
}
