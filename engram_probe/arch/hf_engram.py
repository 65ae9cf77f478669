"""A Hugging Face causal LM with engram-peft's Engram layers, hooked the TransformerLens way, on the seam.

The base model (``transformers``, e.g. ``LlamaForCausalLM``, ``Qwen3ForCausalLM``) runs its own forward,
untouched; its weights are never changed. Hooks are attached from outside, as engram-peft attaches its
layers:

    blocks.{i}.hook_resid_pre   a forward pre-hook on decoder layer i; at an Engram layer L it first adds
                                sum_m y_m (the shared Engram read, ``engram_probe.arch.engram_read``) to the
                                residual entering the layer, as engram-peft does
    blocks.{i}.ln1/ln2, hook_attn_out, hook_mlp_out, hook_resid_post, hook_embed, ln_final, hook_logits:
                                forward hooks on the matching modules

Addresses come from the model's address contract for the whole sequence of every forward, so a
generation step never reuses an earlier call's tokens, and no KV cache is used (engram-peft's cached
decoding skips the conv's history).
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from engram_probe.arch.base import EngramModelBase, RowOverlay
from engram_probe.arch.engram_read import EngramRead, ReadLayout
from engram_probe.arch.hf_engram_config import CONV_EPS, GATE_EPS, HFEngramConfig
from engram_probe.arch.tl_adapter import RecordingHookPoint, position_hook
from engram_probe.arch.weights import tensors_digest

# the decoder-layer parts the hooks attach to (Llama, Qwen3 and most HF decoders name them so)
LAYER_PARTS = ("self_attn", "mlp", "input_layernorm", "post_attention_layernorm")
STACK_PARTS = ("embed_tokens", "norm")  # on the module holding the layer container


def peft_read(cfg: HFEngramConfig) -> ReadLayout:
    """engram-peft's Engram read: hc_mult branches, learned norms, its eps values, torch's conv1d weight layout."""
    return ReadLayout(
        conv="channels_first", branches=cfg.hc_mult, learned_norms=True, gate_eps=GATE_EPS, conv_eps=CONV_EPS
    )


def resolve(root: nn.Module, path: str) -> Any:
    """The submodule at a dotted path such as ``model.layers``."""
    module: Any = root
    for part in path.split(".") if path else ():
        module = getattr(module, part)
    return module


class Normalized(nn.Module):
    """Holds the ``hook_normalized`` of one of the base's RMSNorms (the norm itself stays in the base)."""

    def __init__(self) -> None:
        super().__init__()
        self.hook_normalized = position_hook()


class HFBlock(nn.Module):
    """The hooks of one decoder layer, and its Engram read where the adapter has one (the layer stays in the base)."""

    engram_offsets: Tensor  # the adapter's saved head offsets (a buffer), at Engram layers
    # set by name in __init__
    hook_resid_pre: RecordingHookPoint
    hook_attn_out: RecordingHookPoint
    hook_mlp_out: RecordingHookPoint
    hook_resid_post: RecordingHookPoint

    def __init__(self, cfg: HFEngramConfig, index: int, table_rows: int | None) -> None:
        super().__init__()
        self.index = index
        self.engram = EngramRead(cfg, index, table_rows, peft_read(cfg)) if table_rows is not None else None
        if table_rows is not None:
            self.register_buffer("engram_offsets", torch.zeros(cfg.n_engram_heads, dtype=torch.int64))
        self.ln1, self.ln2 = Normalized(), Normalized()
        for name in ("resid_pre", "attn_out", "mlp_out", "resid_post"):
            setattr(self, f"hook_{name}", position_hook())


class _RunState(threading.local):
    """What the hooks of the forward running in this thread read: its addresses and overlay."""

    addresses: dict[int, Tensor] | None = None
    overlay: RowOverlay | None = None


def _replace_first(output: Any, value: Tensor) -> Any:
    return (value, *output[1:]) if isinstance(output, tuple) else value


def _first(output: Any) -> Tensor:
    return output[0] if isinstance(output, tuple) else output


class HFEngramModel(EngramModelBase):
    """An HF causal LM plus engram-peft adapter layers read by the workbench's own Engram read."""

    architecture = "engram-peft"
    cfg: HFEngramConfig
    hasher: Any  # the engram-peft contract of its engine (multiply-XOR for deepseek, PLE for qwen_ple)
    # set by name in __init__
    hook_embed: RecordingHookPoint
    hook_logits: RecordingHookPoint

    def __init__(self, hf: nn.Module, cfg: HFEngramConfig, hasher: Any, table_rows: dict[int, int]):
        super().__init__()
        self.cfg, self.hasher, self.hf = cfg, hasher, hf
        self.blocks = nn.ModuleList(HFBlock(cfg, i, table_rows.get(i)) for i in range(cfg.n_layers))
        self.ln_final = Normalized()
        self.hook_embed, self.hook_logits = position_hook(), position_hook()
        self._run = _RunState()
        self._handles: list[tuple[str, RemovableHandle]] = []
        self._attach()
        self.setup()

    # ------------------------------------------------------------------ hooks on the base's modules
    def _attach(self) -> None:
        """Hooks on the base's modules that feed this model's hook points (and add the Engram reads)."""
        layers = resolve(self.hf, self.cfg.layer_container_path)
        stack = resolve(self.hf, self.cfg.layer_container_path.rpartition(".")[0])
        prefix = self.cfg.layer_container_path
        parent = prefix.rpartition(".")[0]
        self._output(f"{parent}.embed_tokens".lstrip("."), stack.embed_tokens, self.hook_embed)
        for i in range(self.cfg.n_layers):
            block, layer = cast(HFBlock, self.blocks[i]), layers[i]
            name = f"{prefix}.{i}"
            handle = layer.register_forward_pre_hook(self._layer_input(block), with_kwargs=True)
            self._handles.append((name, handle))
            self._output(name, layer, block.hook_resid_post)
            self._output(f"{name}.self_attn", layer.self_attn, block.hook_attn_out)
            self._output(f"{name}.mlp", layer.mlp, block.hook_mlp_out)
            self._output(f"{name}.input_layernorm", layer.input_layernorm, block.ln1.hook_normalized)
            self._output(f"{name}.post_attention_layernorm", layer.post_attention_layernorm, block.ln2.hook_normalized)
        self._output(f"{parent}.norm".lstrip("."), stack.norm, self.ln_final.hook_normalized)

    def _output(self, name: str, module: nn.Module, point: RecordingHookPoint) -> None:
        def hook(_module: nn.Module, _args: Any, output: Any) -> Any:
            return _replace_first(output, point(_first(output)))

        self._handles.append((name, module.register_forward_hook(hook)))

    def _layer_input(self, block: HFBlock) -> Callable[..., Any]:
        def hook(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            h = args[0] if args else kwargs["hidden_states"]
            if block.engram is not None:
                addresses = self._run.addresses
                if addresses is None:
                    raise RuntimeError("the base model was called directly: run the hooked model, which reads Engram")
                h = (h + block.engram(h, addresses[block.index], self._run.overlay)).to(h.dtype)
            h = block.hook_resid_pre(h)
            if args:
                return (h, *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": h}

        return hook

    # ------------------------------------------------------------------ the seam
    @property
    def unembed(self) -> nn.Linear:  # type: ignore[override]
        """The base's LM head (the embedding itself when the base ties them)."""
        head = self.hf.get_output_embeddings()  # type: ignore[operator]
        assert isinstance(head, nn.Linear)
        return head

    @property
    def max_tokens(self) -> int:
        """The base's ``max_position_embeddings``."""
        return int(self.cfg.n_ctx)

    def check_tokens(self, tokens: Tensor) -> Tensor:
        tokens = super().check_tokens(tokens)
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= self.cfg.d_vocab:
            bad = low if low < 0 else high
            raise ValueError(f"token id {bad} is outside the base's vocabulary (0..{self.cfg.d_vocab - 1})")
        return tokens

    def compute_logits(self, tokens: Tensor, addresses: dict[int, Tensor], overlay: RowOverlay | None) -> Tensor:
        run = self._run
        if run.addresses is not None:
            raise RuntimeError("a forward of this model is already running in this thread")
        run.addresses, run.overlay = addresses, overlay
        try:
            out = self.hf(input_ids=tokens, use_cache=False)
        finally:
            run.addresses, run.overlay = None, None
        return self.hook_logits(out.logits)

    def weights_digest(self) -> str:
        """Every parameter and buffer of the base and the adapter, persistent or not (rotary tables included)."""
        tensors = dict(self.state_dict())
        tensors.update({f"buffer:{n}": b for n, b in self.named_buffers() if n not in tensors})
        return tensors_digest(tensors)

    def part_digests(self) -> dict[str, str]:
        """The base model's digest (its parameters and buffers) and the engram-peft adapter's (everything else)."""
        state = dict(self.state_dict())
        base = {k: v for k, v in state.items() if k.startswith("hf.")}
        adapter = {k: v for k, v in state.items() if not k.startswith("hf.")}
        return {"base": tensors_digest(base), "adapter": tensors_digest(adapter)}

    def peft_target_modules(self, pattern: str) -> str:
        """The base's own attention projections (``q_proj`` … ``o_proj``) for the TransformerLens-named patterns."""
        stack = re.escape(f"hf.{self.cfg.layer_container_path}")
        names = {r"blocks\.\d+\.attn\.W_[QKVO]": "q|k|v|o", r"blocks\.\d+\.attn\.W_[QKV]": "q|k|v"}
        if pattern not in names:
            return pattern
        return rf"{stack}\.\d+\.self_attn\.({names[pattern]})_proj"

    def blank_copy(self) -> HFEngramModel:
        """A new module tree with copies of every weight; this model's weights are never touched."""
        hf = copy.deepcopy(self.hf)
        # the deep copy carries this model's hook registrations on its modules: take them off the copy
        for name, handle in self._handles:
            module = hf if not name else hf.get_submodule(name)
            module._forward_hooks.pop(handle.id, None)
            module._forward_pre_hooks.pop(handle.id, None)
            module._forward_pre_hooks_with_kwargs.pop(handle.id, None)
        rows = {layer: int(self.engram_module(layer).table.num_embeddings) for layer in self.cfg.engram_layers}
        clone = HFEngramModel(hf, self.cfg, self.hasher, rows)
        clone.blocks.load_state_dict(self.blocks.state_dict())
        return clone.eval()
