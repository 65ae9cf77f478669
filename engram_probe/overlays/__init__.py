"""Overlay files of other tools (.pleo, V4.1 row overrides) and this project's memory export, as row sets."""

from engram_probe.overlays.load import read_facts_json, read_overlay
from engram_probe.overlays.rowset import FactTrigger, OverlayFileError, OverlayRows

__all__ = ["FactTrigger", "OverlayFileError", "OverlayRows", "read_facts_json", "read_overlay"]
