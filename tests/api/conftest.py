"""Fixtures and helpers of the API tier: a gradio_client on the served workbench."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from gradio_client import Client

from tests.plain_words import messages, problems

# Endpoints whose messages are known to fall short, each with where it comes from; its owner removes the entry
# with the fix. Every other endpoint's answers are refused if they show a flag, a temporary path or a Python name.
KNOWN: dict[str, str] = {}


class CheckedClient(Client):  # type: ignore[misc]
    """A gradio_client whose every answer is read for what a person would see, and refused if it is not plain."""

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        out = super().predict(*args, **kwargs)
        bad = [(m[:200], p) for m in messages(out) for p in problems(m)]
        if bad and kwargs.get("api_name") in KNOWN:
            warnings.warn(f"{kwargs.get('api_name')} shows {bad[:3]}", stacklevel=2)
            return out
        assert not bad, f"{kwargs.get('api_name')} shows {bad}"
        return out


@pytest.fixture(scope="module")
def client(served: tuple[str, Any]) -> Client:
    return CheckedClient(served[0], verbose=False)


def table(value: Any) -> list[list[Any]]:
    """Rows of a gr.Dataframe output as returned by gradio_client."""
    return value["data"] if isinstance(value, dict) else value
