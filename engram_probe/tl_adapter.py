"""The one place that imports TransformerLens.

TransformerLens 4.x removed ``HookedTransformer``; ``HookedRootModule`` and ``HookPoint``
remain the supported way to hook a custom ``nn.Module``. If a future major version moves
them again, only this file changes.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from transformer_lens import ActivationCache  # noqa: E402
from transformer_lens.hook_points import HookPoint  # noqa: E402
from transformer_lens.HookedRootModule import HookedRootModule  # noqa: E402
from transformer_lens.utilities import get_act_name  # noqa: E402

__all__ = ["ActivationCache", "HookPoint", "HookedRootModule", "get_act_name"]
