"""The "Ask the model" box: greedy generation for a prompt without and with a user's memory, side by side,
naming the rows the memory run read (``memory.generation``, the one path of every greedy continuation)."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.user_memory import UserMemory
from engram_probe.report.numbers import plural
from workbench.handling import USER_ERRORS, user_memory, warn
from workbench.pickers import Pickers
from workbench.state import WorkbenchState

MAX_NEW_TOKENS = 32
READ_COLS = ["position", "token", "generated", "layer", "rows read", "facts that own them"]


def ask(
    state: WorkbenchState, user_id: str | None, prompt: str, max_new_tokens: float = 12
) -> tuple[str, str, pd.DataFrame, str]:
    """The plain model's continuation, the continuation with the user's memory, and the memory rows read."""
    from engram_probe.memory.generation import generate  # the generation module's one greedy path

    try:
        if not prompt or not prompt.strip():
            raise ValueError("the prompt is empty")
        n = int(max_new_tokens or 12)
        if not 1 <= n <= MAX_NEW_TOKENS:
            raise ValueError(f"ask for 1 to {MAX_NEW_TOKENS} new tokens, not {n}")
        mem: UserMemory = user_memory(state, user_id, "ask the model")
        plain = generate(state.lm.model, state.lm.tokenizer, prompt, None, n)
        overlay = MemoryOverlay([mem]) if len(mem) else None
        mine = generate(state.lm.model, state.lm.tokenizer, prompt, overlay, n)
    except USER_ERRORS as exc:
        return "", "", pd.DataFrame(columns=READ_COLS), warn(exc)
    rows = [
        [r.position, r.token, "yes" if r.generated else "no", r.layer, ", ".join(map(str, r.rows)), ", ".join(r.facts)]
        for r in mine.reads
    ]
    n_rows = len({(r.layer, x) for r in mine.reads for x in r.rows})
    same = "the same text" if plain.new_ids == mine.new_ids else "different text"
    status = (
        f"With **{mem.user_id}**'s memory the model gives {same}; it read {plural(n_rows, 'row')} of that memory at "
        f"{plural(len({r.position for r in mine.reads}), 'position')} (greedy, {plural(n, 'new token')} at most)."
    )
    return plain.text, mine.text, pd.DataFrame(rows, columns=READ_COLS), status


def ask_box(state: WorkbenchState, pick: Pickers) -> gr.Dropdown:
    """The box, inside the caller's tab; returns its user picker (its list follows new users)."""
    gr.Markdown("### Ask the model")
    with gr.Row():
        user = pick.user("ask")
        prompt = gr.Textbox(value="My favorite tea is", label="Prompt", elem_id="ask-prompt")
        n = gr.Slider(1, MAX_NEW_TOKENS, value=12, step=1, label="New tokens", elem_id="ask-n")
    go = gr.Button("Ask", elem_id="ask-go")
    with gr.Row():
        plain = gr.Textbox(label="Without the memory", elem_id="ask-plain", interactive=False)
        mine = gr.Textbox(label="With the user's memory", elem_id="ask-memory", interactive=False)
    reads = gr.Dataframe(
        pd.DataFrame(columns=READ_COLS), label="Rows of the memory read", elem_id="ask-reads", interactive=False
    )
    status = gr.Markdown(elem_id="ask-status")

    def do_ask(uid: str | None, text: str, k: float, request: gr.Request) -> tuple[Any, ...]:
        with state.access.acting(request):
            return ask(state, uid, text, k)

    go.click(do_ask, [user, prompt, n], [plain, mine, reads, status], api_name="ask_model", concurrency_limit=4)
    return user
