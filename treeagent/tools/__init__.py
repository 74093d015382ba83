"""Tool-use runs wired together: the BFCL suite runner and its command line."""
