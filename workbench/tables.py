"""Table values shown before a view has run: one sentence saying what fills the table, not placeholder headers."""

from __future__ import annotations

import pandas as pd


def waiting(sentence: str) -> pd.DataFrame:
    """A one-cell table holding ``sentence`` (Gradio shows "1 2 3" headers for a table with no value)."""
    return pd.DataFrame({"": [sentence]})
