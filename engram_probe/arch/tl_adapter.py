"""The one place that imports TransformerLens.

TransformerLens 4.x removed ``HookedTransformer``; ``HookedRootModule`` and ``HookPoint``
remain the supported way to hook a custom ``nn.Module``. If a future major version moves
them again, only this file changes.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import threading  # noqa: E402
from typing import Any, cast  # noqa: E402

from transformer_lens import ActivationCache  # noqa: E402
from transformer_lens.hook_points import HookPoint  # noqa: E402
from transformer_lens.HookedRootModule import HookedRootModule  # noqa: E402
from transformer_lens.utilities import get_act_name  # noqa: E402


class _RecordingSlot(threading.local):
    cache: dict[str, Any] | None = None


RECORDING = _RecordingSlot()


class RecordingHookPoint(HookPoint):
    """A TransformerLens ``HookPoint`` that can also record its value, cheaply and per thread.

    Registering ~100 hooks per run (as ``run_with_cache`` does) costs more than a forward of the
    shipped model. While the calling thread has set ``RECORDING.cache`` (see
    ``EngramTransformer.recording``), every point stores a detached reference to its value there;
    otherwise it is the identity, exactly as TransformerLens' ``HookPoint``. Hooks attached the
    usual way still fire as before.

    ``position_axis`` is the axis of its value that indexes (query) position: the bit-exact proof
    slices there. Every point declares it; a model holding one that does not is refused when built.
    """

    def __init__(self, position_axis: int | None = None) -> None:
        super().__init__()
        self.position_axis = position_axis

    def forward(self, x: Any) -> Any:
        cache = RECORDING.cache
        if cache is not None:
            # HookedRootModule.setup() names every point before a model runs; with no graph to cut, keep the tensor
            cache[cast(str, self.name)] = x.detach() if x.requires_grad else x
        return x


POSITION_AXIS = 1  # [batch, pos, ...]
QUERY_AXIS = 2  # [batch, head, query_pos, key_pos]


def position_hook() -> RecordingHookPoint:
    """A hook whose value is [batch, pos, ...]."""
    return RecordingHookPoint(POSITION_AXIS)


def query_hook() -> RecordingHookPoint:
    """A hook whose value is [batch, head, query_pos, key_pos] (attention scores and patterns)."""
    return RecordingHookPoint(QUERY_AXIS)


__all__ = [
    "POSITION_AXIS",
    "QUERY_AXIS",
    "position_hook",
    "query_hook",
    "RECORDING",
    "ActivationCache",
    "HookPoint",
    "HookedRootModule",
    "RecordingHookPoint",
    "get_act_name",
]
