"""Fixtures and helpers of the API tier: a gradio_client on the served workbench."""

from __future__ import annotations

from typing import Any

import pytest
from gradio_client import Client


@pytest.fixture(scope="module")
def client(served: tuple[str, Any]) -> Client:
    return Client(served[0], verbose=False)


def table(value: Any) -> list[list[Any]]:
    """Rows of a gr.Dataframe output as returned by gradio_client."""
    return value["data"] if isinstance(value, dict) else value
