"""The config of a Hugging Face causal LM with engram-peft adapter layers, read from the two folders' config files.

The base folder's ``config.json`` gives the backbone's shape; the adapter folder's ``config.json``
(``model_type: engram``, written by engram-peft's ``save_pretrained``) gives the Engram layers'. Every
field the forward reads is checked here, so a bad file is refused in one line naming the file and field.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from engram_probe.arch.loaded import ModelFileError
from engram_probe.contracts.fields import NGRAM, POSITIVE, Int, IntList, Number, Text, read_field

CONFIG = "config.json"
ENGINES = ("deepseek", "qwen_ple")
# torch nn.RMSNorm's default eps in float32: engram-peft's gate norms are built without one
GATE_EPS = float(torch.finfo(torch.float32).eps)
CONV_EPS = 1e-5  # engram-peft's ShortConv norms
ADAPTER_DTYPES = (None, "float32", "fp32")


def read_json(path: Path) -> dict[str, Any]:
    """A config file as a dict; a missing or malformed file is refused, naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelFileError(f"no {path.name} in {path.parent}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: must hold a JSON object, got {type(data).__name__}")
    return data


def base_architecture(saved: dict[str, Any], where: str) -> str:
    """The single causal-LM class a base ``config.json`` names in ``architectures``."""
    archs = saved.get("architectures")
    if not (isinstance(archs, list) and len(archs) == 1 and isinstance(archs[0], str)):
        raise ModelFileError(f"{where}: field architectures must name one model class, got {json.dumps(archs)}")
    return archs[0]


@dataclass(frozen=True)
class HFEngramConfig:
    """Backbone and Engram shape of one base + adapter pair (the seam's ``ArchConfig`` fields and engram-peft's)."""

    base_architecture: str
    n_layers: int
    d_model: int
    n_ctx: int
    d_vocab: int
    eps: float  # the base's rms_norm_eps (the backbone's; the Engram read uses GATE_EPS and CONV_EPS)
    engram_layers: tuple[int, ...]
    ngram_orders: tuple[int, ...]
    heads_per_order: int
    vocab_per_ngram: tuple[int, ...]
    embedding_dim: int
    hc_mult: int
    conv_kernel: int
    conv_dilation: int
    engine: str
    layer_container_path: str

    @property
    def n_engram_heads(self) -> int:
        return len(self.ngram_orders) * self.heads_per_order

    @property
    def dim_per_head(self) -> int:
        return self.embedding_dim // self.n_engram_heads  # engram-peft drops a remainder

    @property
    def engram_hidden(self) -> int:
        return self.n_engram_heads * self.dim_per_head

    @property
    def max_ngram(self) -> int:
        return max(self.ngram_orders)

    @property
    def table_size_per_head(self) -> int:
        """Rows per head of the first order before the prime search (each order's budget is split among its heads)."""
        return self.vocab_per_ngram[0] // self.heads_per_order

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_config(base_dir: Path, adapter_dir: Path) -> HFEngramConfig:
    """Both folders' config files, checked against each other (hidden size, depth)."""
    base_file, adapter_file = base_dir / CONFIG, adapter_dir / CONFIG
    base, adapter = read_json(base_file), read_json(adapter_file)
    arch = base_architecture(base, str(base_file))
    err = ModelFileError

    def bfield(name: str, rule: Any, **kw: Any) -> Any:
        return read_field(base, name, rule, str(base_file), error=err, **kw)

    def afield(name: str, rule: Any, **kw: Any) -> Any:
        return read_field(adapter, name, rule, str(adapter_file), error=err, **kw)

    n_layers = bfield("num_hidden_layers", POSITIVE)
    d_model = bfield("hidden_size", POSITIVE)
    afield("model_type", Text(("engram",)))
    engine = afield("engine", Text(ENGINES), default="deepseek")
    if adapter.get("table_spec") == "PLE_QWEN_V1":
        engine = "qwen_ple"
    if adapter.get("table_source", "memory") != "memory":
        raise err(
            f"{adapter_file}: field table_source must be memory (tables in the adapter file), "
            f"got {json.dumps(adapter.get('table_source'))}"
        )
    if adapter.get("engram_dtype") not in ADAPTER_DTYPES:
        raise err(
            f"{adapter_file}: field engram_dtype must be null or float32, got {json.dumps(adapter['engram_dtype'])}"
        )
    hidden = afield("hidden_size", POSITIVE)
    if hidden != d_model:
        raise err(
            f"{adapter_file}: field hidden_size is {hidden}, but the base's hidden_size ({base_file}) is "
            f"{d_model}: this adapter was made for another base model"
        )
    orders = afield("ngram_sizes", IntList(NGRAM.lo, NGRAM.hi, distinct=True))
    vocab = afield("engram_vocab_size_per_ngram", IntList(1))
    if len(vocab) != len(orders):
        raise err(
            f"{adapter_file}: field engram_vocab_size_per_ngram must hold one size per n-gram order "
            f"({len(orders)}), got {json.dumps(vocab)}"
        )
    layers = afield(
        "target_layers",
        IntList(0, n_layers - 1, distinct=True, note=f"(the base has {n_layers} decoder layers, 0 to {n_layers - 1})"),
    )
    heads = afield("n_head_per_ngram", POSITIVE)
    embedding_dim = afield("embedding_dim", Int(len(orders) * heads, note="(at least one value per head)"))
    return HFEngramConfig(
        base_architecture=arch,
        n_layers=n_layers,
        d_model=d_model,
        n_ctx=bfield("max_position_embeddings", POSITIVE),
        d_vocab=bfield("vocab_size", POSITIVE),
        eps=float(bfield("rms_norm_eps", Number(gt=0.0), default=1e-6)),
        engram_layers=tuple(sorted(layers)),
        ngram_orders=tuple(orders),
        heads_per_order=heads,
        vocab_per_ngram=tuple(vocab),
        embedding_dim=embedding_dim,
        hc_mult=afield("hc_mult", POSITIVE),
        conv_kernel=afield("conv_kernel_size", POSITIVE),
        conv_dilation=max(orders) if adapter.get("conv_dilation") is None else afield("conv_dilation", POSITIVE),
        engine=engine,
        layer_container_path=afield("layer_container_path", Text(), default="model.layers"),
    )
