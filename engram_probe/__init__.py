"""Engram Workbench library: hashing, the hooked Engram model, user memory, audits and reports."""

__version__ = "0.1.0"
