"""Bridges to other agent stacks (LangGraph); each imports its library only when used."""
