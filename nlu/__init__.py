"""Natural-language understanding: language, intents and entities for chat messages (zh / en)."""

from nlu.parse import NLU, Entity, Parse

__all__ = ["NLU", "Entity", "Parse"]
