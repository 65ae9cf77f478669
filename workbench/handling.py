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


def progress_of(progress: Any, label: str) -> Callable[[int, int, str], None] | None:
    if progress is None:
        return None

    def update(step: int, total: int, message: str) -> None:
        progress(step / max(1, total), desc=f"{label}: {message}")

    return update
