"""treeagent."""
