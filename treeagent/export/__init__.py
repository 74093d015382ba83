"""Training data from search traces (`treeagent export`): SFT conversations and step-level preference pairs."""

from treeagent.export.build import Conversations, preference_pairs, sft_records
from treeagent.export.schema import ChatMessage, PreferencePair, SFTRecord, Source

__all__ = ["ChatMessage", "Conversations", "PreferencePair", "SFTRecord", "Source", "preference_pairs", "sft_records"]
