"""What every hooked Engram architecture shares: the model seam the audit engine talks to.

An architecture subclasses :class:`EngramModelBase` and gives what the seam declares: ``cfg`` (an
:class:`ArchConfig`), ``hasher`` (its address contract), ``blocks[i].engram`` (an :class:`EngramLayer`
at each Engram layer, built from ``engram_probe.arch.engram_read.EngramRead``), an ``unembed``
linear, ``compute_logits`` and ``blank_copy``; every hook point declares its position axis.
Everything else the audit needs (overlays at lookup time, recording every hook by name,
generation, loss, the weights digest) is here, once.

Salted reads (the paper's per-user salt): inside ``with model.address_salt(salt):`` every address this thread
computes through the model (``model.hasher``, ``engram_addresses``, every forward) uses the contract's salted
view, so a writer writes a salted user's facts at salted rows and a forward reads them there. No weight is
copied or changed, other threads keep the unsalted addresses, and outside the block nothing differs.
"""

from __future__ import annotations

import threading
from abc import ABCMeta, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn

from engram_probe.arch.tl_adapter import RECORDING, ActivationCache, HookedRootModule, RecordingHookPoint
from engram_probe.arch.weights import tensors_digest
from engram_probe.concurrency import ReadWriteLock
from engram_probe.contracts.multxor import MultXorContract

_SALTED = threading.local()  # per thread: {id(model): its contract's salted view}, set by address_salt


class RowOverlay(Protocol):
    """Anything that can substitute table rows at lookup time (see ``engram_probe.memory``)."""

    def substitute(
        self, layer: int, addresses: Int[Tensor, "batch pos heads"], rows: Float[Tensor, "batch pos heads dim"]
    ) -> Float[Tensor, "batch pos heads dim"]: ...


class ArchConfig(Protocol):
    """The config fields the audit engine, writers and reports read (docs/architectures.md), in any architecture."""

    @property
    def n_layers(self) -> int: ...
    @property
    def d_model(self) -> int: ...
    @property
    def n_ctx(self) -> int: ...
    @property
    def d_vocab(self) -> int: ...
    @property
    def engram_layers(self) -> tuple[int, ...]: ...
    @property
    def n_engram_heads(self) -> int: ...
    @property
    def dim_per_head(self) -> int: ...
    @property
    def engram_hidden(self) -> int: ...
    @property
    def ngram_orders(self) -> tuple[int, ...]: ...
    @property
    def heads_per_order(self) -> int: ...
    @property
    def max_ngram(self) -> int: ...
    @property
    def table_size_per_head(self) -> int: ...
    @property
    def conv_kernel(self) -> int: ...
    @property
    def conv_dilation(self) -> int: ...
    @property
    def eps(self) -> float: ...
    def to_dict(self) -> dict[str, Any]: ...


class EngramLayer(Protocol):
    """One layer's Engram read: its table and projections, which writers and adapters read."""

    layer: int
    table: nn.Embedding
    W_K: nn.Linear
    W_V: nn.Linear

    def conv_taps(self) -> Float[Tensor, "kernel d_model"]: ...


@dataclass(frozen=True)
class WriterWeights:
    """The trained weights a fact writer reads at one Engram layer (it never changes them)."""

    unembed: Float[Tensor, "vocab d_model"]  # rows of the output projection (the closed-form target)
    value: Float[Tensor, "d_model engram_hidden"]  # the layer's W_V (pinv-ed by the closed form)


def next_token_loss(logits: Tensor, tokens: Tensor) -> Tensor:
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))


class EngramModelBase(HookedRootModule, metaclass=ABCMeta):
    """A hooked Engram model: subclasses compute logits; this class runs, records and generates."""

    architecture = "abstract"
    cfg: ArchConfig
    blocks: nn.ModuleList
    unembed: nn.Linear
    # attached by engram_probe.arch.loading.load_model, for callers that hold only the model
    tokenizer: Any
    weights_sha256: str

    def __init__(self) -> None:
        super().__init__()
        self._lock = ReadWriteLock()
        self.hook_axes: dict[str, int] = {}

    def setup(self) -> None:
        """Index the hook points (as TransformerLens does) and read each one's declared position axis."""
        super().setup()
        axes = {}
        for name, point in self.hook_dict.items():
            axis = point.position_axis if isinstance(point, RecordingHookPoint) else None
            if axis is None:
                raise ValueError(
                    f"{self.architecture} model: hook {name} declares no position axis; build it with "
                    "tl_adapter.position_hook() or query_hook() so the proof knows which axis to slice"
                )
            axes[name] = int(axis)
        self.hook_axes = axes

    @property
    def max_tokens(self) -> int:
        """The longest sequence the model runs (and so the longest probe an audit takes)."""
        return int(self.cfg.n_ctx)

    @abstractmethod
    def compute_logits(self, tokens: Tensor, addresses: dict[int, Tensor], overlay: RowOverlay | None) -> Tensor:
        """Logits [batch, pos, vocab] of checked tokens, given each Engram layer's row addresses."""

    @abstractmethod
    def blank_copy(self) -> EngramModelBase:
        """A new model of the same architecture with a copy of these weights (for adapters)."""

    def part_digests(self) -> dict[str, str]:
        """Digests of the model's separately shipped parts (a base and its adapter), where it has such parts."""
        return {}

    def peft_target_modules(self, pattern: str) -> str:
        """The module-name pattern PEFT adapts for ``pattern``, which names modules as TransformerLens does
        (``blocks.{i}.attn.W_Q`` …); an architecture whose modules have other names translates it."""
        return pattern

    def weights_digest(self) -> str:
        """Digest of every parameter and buffer (the 'base digest' reports and overlays are bound to)."""
        return tensors_digest(dict(self.state_dict()))

    def writer_weights(self, layer: int) -> WriterWeights:
        """The weights the fact writers read at Engram layer ``layer``."""
        return WriterWeights(self.unembed.weight, self.engram_module(layer).W_V.weight)

    # ------------------------------------------------------------------ addressing
    @property
    def hasher(self) -> MultXorContract:
        """The address contract; inside :meth:`address_salt` on this thread, its salted view."""
        views = getattr(_SALTED, "views", None)
        view = views.get(id(self)) if views else None
        return cast(MultXorContract, view if view is not None else self.__dict__["_hasher"])

    @hasher.setter
    def hasher(self, contract: MultXorContract) -> None:
        self.__dict__["_hasher"] = contract

    @contextmanager
    def address_salt(self, salt: int) -> Iterator[MultXorContract]:
        """Read and write at ``salt``'s addresses on this thread inside the block (salt 0: the model's own).

        Refused (a ``ContractError`` naming the contract) where the contract cannot be salted."""
        view = cast(MultXorContract, self.__dict__["_hasher"].salted(salt))
        views: dict[int, Any] = _SALTED.__dict__.setdefault("views", {})
        prior = views.get(id(self))
        views[id(self)] = view
        try:
            yield view
        finally:
            if prior is None:
                views.pop(id(self), None)
            else:
                views[id(self)] = prior

    def engram_addresses(self, tokens: Int[Tensor, "batch pos"], salt: int | None = None) -> dict[int, Tensor]:
        """Row ids read at every position, per Engram layer (computed by the numpy hasher); ``salt``: at that
        salt's addresses (default: the current :meth:`address_salt`, else the model's own)."""
        ids = tokens.detach().cpu().numpy()
        hasher = self.hasher if salt is None else self.__dict__["_hasher"].salted(salt)
        return {
            layer: torch.from_numpy(hasher.addresses(ids, layer)).to(tokens.device) for layer in self.cfg.engram_layers
        }

    def engram_layers(self) -> dict[int, EngramLayer]:
        """Every Engram layer's read module, by layer index."""
        return {layer: self.engram_module(layer) for layer in self.cfg.engram_layers}

    def engram_module(self, layer: int) -> EngramLayer:
        """The Engram read at ``layer``; refused for a layer without one."""
        if not 0 <= layer < len(self.blocks):
            raise ValueError(f"layer {layer} has no Engram module; Engram layers are {self.cfg.engram_layers}")
        # the seam: every block's ``engram`` is an EngramLayer, or None where the layer has none
        module = cast("EngramLayer | None", self.blocks[layer].engram)
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

    def position_axis(self, name: str) -> int:
        """The axis of hook ``name``'s value that indexes (query) position, as its hook point declares."""
        if name not in self.hook_axes:
            raise ValueError(f"{self.architecture} model has no hook {name}")
        return self.hook_axes[name]

    def parameter_counts(self) -> dict[str, int]:
        total = sum(p.numel() for p in self.parameters())
        tables = sum(p.numel() for n, p in self.named_parameters() if n.endswith("engram.table.weight"))
        engram = sum(p.numel() for n, p in self.named_parameters() if ".engram." in n)
        return {"total": total, "engram_tables": tables, "engram_total": engram, "backbone": total - engram}
