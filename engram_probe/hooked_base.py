"""What every hooked Engram architecture shares: the model seam the audit engine talks to.

An architecture subclasses :class:`EngramModelBase` and provides ``cfg`` (the field names in
docs/architectures.md), ``hasher`` (its address contract), ``blocks[i].engram`` modules with
``table``, ``W_K`` and ``W_V``, an ``unembed`` linear, ``compute_logits`` and ``blank_copy``.
Everything else the audit needs (overlays at lookup time, recording every hook by name,
generation, loss) is here, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from engram_probe.concurrency import ReadWriteLock
from engram_probe.tl_adapter import RECORDING, ActivationCache, HookedRootModule


class RowOverlay(Protocol):
    """Anything that can substitute table rows at lookup time (see ``engram_probe.memory``)."""

    def substitute(
        self, layer: int, addresses: Int[Tensor, "batch pos heads"], rows: Float[Tensor, "batch pos heads dim"]
    ) -> Float[Tensor, "batch pos heads dim"]: ...


def hook_position_axis(name: str) -> int:
    """Axis that indexes (query) position in the value of hook ``name``."""
    return 2 if name.endswith(("hook_pattern", "hook_attn_scores")) else 1


def next_token_loss(logits: Tensor, tokens: Tensor) -> Tensor:
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))


class EngramModelBase(HookedRootModule):
    """A hooked Engram model: subclasses compute logits; this class runs, records and generates."""

    architecture = "abstract"
    cfg: Any
    hasher: Any

    def __init__(self) -> None:
        super().__init__()
        self._lock = ReadWriteLock()

    @property
    def max_tokens(self) -> int:
        """The longest sequence the model runs (and so the longest probe an audit takes)."""
        return int(self.cfg.n_ctx)

    def compute_logits(self, tokens: Tensor, addresses: dict[int, Tensor], overlay: RowOverlay | None) -> Tensor:
        """Logits [batch, pos, vocab] of checked tokens, given each Engram layer's row addresses."""
        raise NotImplementedError

    def blank_copy(self) -> EngramModelBase:
        """A new model of the same architecture with a copy of these weights (for adapters)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ addressing
    def engram_addresses(self, tokens: Int[Tensor, "batch pos"]) -> dict[int, Tensor]:
        """Row ids read at every position, per Engram layer (computed by the numpy hasher)."""
        ids = tokens.detach().cpu().numpy()
        return {
            layer: torch.from_numpy(self.hasher.addresses(ids, layer)).to(tokens.device)
            for layer in self.cfg.engram_layers
        }

    def engram_module(self, layer: int) -> Any:
        module = self.blocks[layer].engram
        if module is None:
            raise ValueError(f"layer {layer} has no Engram module; Engram layers are {self.cfg.engram_layers}")
        return module

    # ------------------------------------------------------------------ forward
    def check_tokens(self, tokens: Tensor) -> Tensor:
        if tokens.ndim == 1:
            tokens = tokens.unsqueeze(0)
        if tokens.ndim != 2:
            raise ValueError(f"tokens must be [batch, pos], got shape {tuple(tokens.shape)}")
        if tokens.shape[1] == 0:
            raise ValueError("tokens are empty")
        if tokens.shape[1] > self.max_tokens:
            raise ValueError(f"sequence of {tokens.shape[1]} tokens is longer than the context ({self.max_tokens})")
        if tokens.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"tokens must be integer, got {tokens.dtype}")
        return tokens.long()

    def forward(
        self,
        tokens: Int[Tensor, "batch pos"],
        overlay: RowOverlay | None = None,
        return_type: str = "logits",
        addresses: dict[int, Tensor] | None = None,
    ) -> Any:
        """Logits (or loss); ``addresses`` are this token tensor's row ids when already computed."""
        tokens = self.check_tokens(tokens)
        if addresses is None:
            addresses = self.engram_addresses(tokens)
        with self._lock.shared():
            logits = self.compute_logits(tokens, addresses, overlay)
        if return_type == "logits":
            return logits
        loss = next_token_loss(logits, tokens)
        if return_type == "loss":
            return loss
        if return_type == "both":
            return logits, loss
        raise ValueError(f"return_type must be logits, loss or both, got {return_type!r}")

    # ------------------------------------------------------------------ hooked runs
    def run_with_cache(self, *args: Any, **kwargs: Any) -> tuple[Any, ActivationCache]:  # type: ignore[override]
        """As in TransformerLens, but the cache comes back as an ``ActivationCache``."""
        with self._lock.exclusive():
            out, cache = super().run_with_cache(*args, **kwargs)
        if isinstance(cache, ActivationCache):
            return out, cache
        return out, ActivationCache(cache, self)

    def run_with_hooks(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock.exclusive():
            return super().run_with_hooks(*args, **kwargs)

    @contextmanager
    def recording(self, slot: dict[str, Tensor] | None = None) -> Iterator[dict[str, Tensor]]:
        """Record every hook value of the forwards this thread runs inside the block.

        ``slot`` (a dict, or a subclass that acts on each value as it is stored) receives them; default a new dict.
        """
        if RECORDING.cache is not None:
            raise RuntimeError("already recording in this thread")
        cache: dict[str, Tensor] = {} if slot is None else slot
        RECORDING.cache = cache
        try:
            yield cache
        finally:
            RECORDING.cache = None

    @torch.no_grad()
    def forward_recorded(
        self,
        tokens: Tensor,
        overlay: RowOverlay | None = None,
        addresses: dict[int, Tensor] | None = None,
        slot: dict[str, Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Logits and every hook value, like ``run_with_cache`` but thread-local and cheap (``slot``: see recording)."""
        with self.recording(slot) as cache:
            logits = self(tokens, overlay=overlay, addresses=addresses)
        return logits, cache

    @torch.no_grad()
    def generate(
        self, tokens: Int[Tensor, "batch pos"], max_new_tokens: int, overlay: RowOverlay | None = None
    ) -> Tensor:
        """Greedy decoding by full recomputation, so hashes always see the real history."""
        tokens = self.check_tokens(tokens)
        for _ in range(max_new_tokens):
            if tokens.shape[1] >= self.max_tokens:
                break
            logits = self(tokens, overlay=overlay)
            tokens = torch.cat([tokens, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return tokens

    def hook_names(self) -> list[str]:
        return sorted(self.hook_dict)

    def parameter_counts(self) -> dict[str, int]:
        total = sum(p.numel() for p in self.parameters())
        tables = sum(p.numel() for n, p in self.named_parameters() if n.endswith("engram.table.weight"))
        engram = sum(p.numel() for n, p in self.named_parameters() if ".engram." in n)
        return {"total": total, "engram_tables": tables, "engram_total": engram, "backbone": total - engram}
