"""Gradio audit workbench: a thin UI over engram_probe."""
