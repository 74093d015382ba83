"""The tree viewer: a search trace as one self-contained HTML page (`treeagent view`)."""

from treeagent.viewer.page import payload, render, write_page

__all__ = ["payload", "render", "write_page"]
