"""What every workbench handler shares: the refusals shown as a status line, an empty figure, the user lookup.

Handlers are plain functions over library calls, so tests can call them without a server. Every handler
returns its outputs plus a status line; known bad input becomes a readable message in that line (prefixed
with "⚠"), never a stack trace, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from engram_probe.audit.engine import ProbeError
from engram_probe.audit.heldout import HeldoutError
from engram_probe.memory.store import StoreError, UnknownUserError
from engram_probe.memory.writing import AnswerError
from engram_probe.report.kernel import ReportError
from engram_probe.report.printing import PdfError
from workbench.access import AccessError
from workbench.state import WorkbenchState

USER_ERRORS = (
    ProbeError,
    AnswerError,
    StoreError,
    UnknownUserError,
    ReportError,
    PdfError,
    HeldoutError,
    AccessError,
    ValueError,
    KeyError,
)
WARN = "⚠ "


def warn(exc: BaseException) -> str:
    msg = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return WARN + msg


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(height=200, xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def user_memory(state: WorkbenchState, user_id: str | None, view: str) -> Any:
    if not user_id or not str(user_id).strip():
        raise ValueError("choose a user first")
    return state.memory(str(user_id).strip(), view)


def progress_of(
    progress: Any, label: str, open_ended: bool = False, phases: int = 1
) -> Callable[[int, int, str], None] | None:
    """A library progress callback ``(step, total, message)`` that drives a Gradio bar that only moves forward.

    Library jobs report several phases one after another, each counting from 0 to its own total (a new phase
    shows as a step count that drops). The first ``phases`` phases each fill an equal share of the bar; any
    phase beyond them fills half of what is left. The bar keeps the furthest point reached, so it never runs
    backwards.
    ``open_ended`` is for loops whose total is only a cap (a LoRA stops as soon as it matches recall): they show
    the step count and no bar, so no estimate is made from a total that will not be reached.
    """
    if progress is None:
        return None
    share = 1.0 / max(1, phases)
    shown = [0.0]  # the bar's position
    phase = [0.0, share, -1.0]  # where the current phase starts, its span, its last fraction
    started = [1]  # phases begun

    def update(step: int, total: int, message: str) -> None:
        text = f"{label}: {message}"
        if open_ended:
            progress(None, desc=f"{text} (step {step:,}, stops once it matches the rows' recall)")
            return
        frac = min(1.0, max(0.0, step / max(1, total)))
        if frac < phase[2]:  # a new phase began
            started[0] += 1
            start = max(shown[0], phase[0] + phase[1])
            phase[0], phase[1] = start, share if started[0] <= phases else (1.0 - start) / 2
        phase[2] = frac
        shown[0] = max(shown[0], min(0.99, phase[0] + phase[1] * frac))
        progress(shown[0], desc=text)

    return update
