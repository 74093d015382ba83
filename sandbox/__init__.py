"""Isolated code execution. Imports nothing else of the project."""
