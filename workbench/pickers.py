"""The user and probe pickers every tab starts with: one list of users, the first user's demo probe."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass(frozen=True)
class Pickers:
    """Makes a tab's user dropdown (and probe box) with ids ``<prefix>-user`` and ``<prefix>-text``."""

    users: list[str]
    first: str | None
    probe: str

    def user(self, prefix: str) -> gr.Dropdown:
        return gr.Dropdown(
            self.users, value=self.first, label="User", elem_id=f"{prefix}-user", allow_custom_value=True
        )

    def user_and_probe(self, prefix: str) -> tuple[gr.Dropdown, gr.Textbox]:
        return self.user(prefix), gr.Textbox(value=self.probe, label="Probe text", elem_id=f"{prefix}-text", lines=2)
