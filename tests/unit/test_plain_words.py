"""The check every API test's messages pass through catches what it is meant to, and lets plain words by."""

from __future__ import annotations

import tempfile

from tests.plain_words import messages, problems


def test_flags_temporary_paths_and_type_names_are_caught() -> None:
    assert problems("contract x has no tokenizer: give --tokenizer FILE")
    assert problems(f"wrote {tempfile.gettempdir()}/engram-workbench-1234/memory.db")
    assert problems("unexpected <class 'dict'>") and problems("KeyError: 'summary'") and problems("got NoneType")
    assert problems("6 write sites, 15 downstream — 4 untouched; recall 83.3% (2 of 6 facts)") == []


def test_messages_are_the_strings_and_cells_a_person_sees() -> None:
    out = ("**Wrote** it", {"headers": ["fact", "rows"], "data": [["a --b", 16]]}, {"type": "plotly", "plot": "{}"})
    assert messages(out) == ["**Wrote** it", "fact", "rows", "a --b"]
