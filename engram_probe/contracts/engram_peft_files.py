"""The files of an engram-peft 1.2.7 adapter folder, as the address contract reads them (never engram-peft itself).

``config.json``'s address fields, checked one by one with the project's field rules, and what
``engram_adapters.safetensors`` says about each layer's table: its saved head offsets and its shape (the
header and the small offsets tensors are read; the tables are not).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engram_probe.contracts.base import ContractError, RowFormat
from engram_probe.contracts.fields import INT64_MAX, NGRAM, POSITIVE, Flag, Int, IntList, Text, read_field, refuse
from engram_probe.safetensors_io import UnreadableSafetensors, read_metadata

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "engram_adapters.safetensors"
PICKLE_FILE = "engram_weights.pt"
FILE_FORMAT = "engram-peft"
OFFSETS_KEY = "multi_head_embedding.offsets"
TABLE_KEY = "multi_head_embedding.embedding.weight"
PLE_SPEC = "PLE_QWEN_V1"
# engram-peft's qwen_ple engine: fixed constants (hashing.py), the same as Qwen3.8's PLE
PLE_EOS = 248_044
PLE_MULTIPLIERS = (23_703_573_157_769, 20_109_073_645_365, 8_052_911_324_071)
PLE_HEADS, PLE_PRIMES_AFTER = 8, 19_999_999
DTYPE_BYTES = {"F32": ("float32", 4), "BF16": ("bf16", 2), "F16": ("float16", 2)}


@dataclass(frozen=True)
class AdapterConfig:
    """The address fields of an engram-peft ``config.json``, checked."""

    where: str  # the config file, as refusals name it
    engine: str
    ngram_sizes: list[int]
    vocab_per_ngram: list[int]
    heads_per_ngram: int
    embedding_dim: int
    target_layers: list[int]
    seed: int
    pad_id: int
    compressed_vocab_size: int
    prime_sizes: list[int] | None

    @property
    def heads(self) -> int:
        return len(self.ngram_sizes) * self.heads_per_ngram


def _config_path(adapter: str | Path) -> Path:
    p = Path(adapter)
    return p / CONFIG_FILE if p.is_dir() else p


def read_adapter_config(adapter: str | Path) -> AdapterConfig:
    """The adapter folder's (or its ``config.json``'s) address fields; a bad field is refused, naming it."""
    path = _config_path(adapter)
    if not path.is_file():
        raise ContractError(f"no engram-peft adapter config at {path}")
    where = str(path)
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"{where}: not readable JSON ({exc})") from exc
    if not isinstance(cfg, dict):
        raise ContractError(f"{where}: must hold a JSON object")
    read_field(cfg, "model_type", Text(("engram",)), where)
    engine = read_field(cfg, "engine", Text(("deepseek", "qwen_ple")), where, default="deepseek")
    if cfg.get("table_spec") is not None:  # engram-peft: this spec selects the qwen_ple engine whatever engine says
        read_field(cfg, "table_spec", Text((PLE_SPEC,)), where)
        engine = "qwen_ple"
    if cfg.get("table_source", "memory") != "memory":
        raise refuse(where, "table_source", '"memory" (tables stored in the adapter file)', cfg["table_source"])
    if engine == "deepseek" and not read_field(cfg, "enable_tokenizer_compression", Flag(), where, default=True):
        raise refuse(where, "enable_tokenizer_compression", "true for the deepseek engine (read here)", False)
    orders = read_field(cfg, "ngram_sizes", IntList(NGRAM.lo, NGRAM.hi, distinct=True), where)
    if orders != sorted(orders):
        raise refuse(where, "ngram_sizes", "in ascending order", orders)
    heads = read_field(cfg, "n_head_per_ngram", POSITIVE, where)
    sizes = read_field(cfg, "engram_vocab_size_per_ngram", IntList(1, INT64_MAX), where)
    if len(sizes) != len(orders):
        raise refuse(where, "engram_vocab_size_per_ngram", f"one size per n-gram order ({len(orders)})", sizes)
    if engine == "deepseek" and min(sizes) < 2 * heads:
        why = f"sizes of at least 2 × n_head_per_ngram ({2 * heads}), so each head has rows"
        raise refuse(where, "engram_vocab_size_per_ngram", why, sizes)
    layers = read_field(cfg, "target_layers", IntList(0, None, distinct=True), where)
    dim = read_field(cfg, "embedding_dim", POSITIVE, where)
    if dim < len(orders) * heads:
        raise refuse(where, "embedding_dim", f"at least the number of heads ({len(orders) * heads})", dim)
    prime_sizes = None
    if engine == "qwen_ple":
        if orders != [2, 3]:
            raise refuse(where, "ngram_sizes", "[2, 3] for the qwen_ple engine", orders)
        if heads != PLE_HEADS:
            raise refuse(where, "n_head_per_ngram", f"{PLE_HEADS} for the qwen_ple engine", heads)
        if len(layers) != 1:
            raise refuse(where, "target_layers", "exactly one layer for the qwen_ple engine", layers)
        rule = IntList(2, INT64_MAX, note=f"({2 * PLE_HEADS} head sizes)")
        if cfg.get("prime_sizes") is not None:
            prime_sizes = read_field(cfg, "prime_sizes", rule, where)
        if prime_sizes is not None and len(prime_sizes) != 2 * PLE_HEADS:
            raise refuse(where, "prime_sizes", f"a list of {2 * PLE_HEADS} head sizes", prime_sizes)
    return AdapterConfig(
        where=where,
        engine=engine,
        ngram_sizes=orders,
        vocab_per_ngram=sizes,
        heads_per_ngram=heads,
        embedding_dim=dim,
        target_layers=layers,
        seed=read_field(cfg, "seed", Int(0, INT64_MAX), where),
        pad_id=read_field(cfg, "pad_id", Int(0, INT64_MAX), where),
        compressed_vocab_size=read_field(cfg, "compressed_vocab_size", POSITIVE, where),
        prime_sizes=prime_sizes,
    )


@dataclass(frozen=True)
class SavedLayer:
    """What the adapter file says about one layer's table: its offsets and the table's shape and dtype."""

    offsets: list[int]
    rows: int
    dim: int
    dtype: str


def read_saved_layers(adapter_dir: Path) -> dict[int, SavedLayer]:
    """Each layer's saved offsets and table shape from ``engram_adapters.safetensors`` (tables are not read)."""
    path = adapter_dir / WEIGHTS_FILE
    if not path.is_file():
        if (adapter_dir / PICKLE_FILE).is_file():
            raise ContractError(
                f"{adapter_dir / PICKLE_FILE}: a pickle (loading it runs code); re-save the adapter with "
                f"safe_serialization=True to get {WEIGHTS_FILE}"
            )
        raise ContractError(
            f"no {WEIGHTS_FILE} beside {adapter_dir / CONFIG_FILE}: its saved offsets check the contract"
        )
    try:
        fmt = read_metadata(path).get("format")
    except UnreadableSafetensors as exc:
        raise ContractError(f"{path}: not a readable safetensors file, or truncated ({exc})") from exc
    if fmt != FILE_FORMAT:
        raise refuse(str(path), "metadata format", f'"{FILE_FORMAT}"', fmt)
    from safetensors import SafetensorError, safe_open

    found: dict[int, dict[str, Any]] = {}
    try:
        with safe_open(str(path), "np") as fh:
            for key in fh.keys():  # noqa: SIM118 (safe_open has no __iter__)
                entry, rest = _layer_entry(path, found, key)
                if entry is None:
                    continue
                if rest == OFFSETS_KEY:
                    entry["offsets"] = [int(x) for x in np.asarray(fh.get_tensor(key)).reshape(-1)]
                else:
                    piece = fh.get_slice(key)
                    entry["shape"], entry["dtype"] = list(piece.get_shape()), str(piece.get_dtype())
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ContractError(f"{path}: not a readable safetensors file, or truncated ({exc})") from exc
    return _saved_layers(path, found)


# the safetensors names of the torch dtypes a pickled adapter's tables may have
_TORCH_DTYPES = {"torch.float32": "F32", "torch.bfloat16": "BF16", "torch.float16": "F16"}


def saved_layers_from_tensors(path: Path, tensors: Mapping[str, Any]) -> dict[int, SavedLayer]:
    """As :func:`read_saved_layers`, from tensors already read (a trusted legacy ``engram_weights.pt``)."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        entry, rest = _layer_entry(path, found, key)
        if entry is None:
            continue
        if rest == OFFSETS_KEY:
            entry["offsets"] = [int(x) for x in value.reshape(-1).tolist()]
        else:
            entry["shape"], entry["dtype"] = list(value.shape), _TORCH_DTYPES.get(str(value.dtype), str(value.dtype))
    return _saved_layers(path, found)


def _layer_entry(path: Path, found: dict[int, dict[str, Any]], key: str) -> tuple[dict[str, Any] | None, str]:
    """The layer's entry in ``found`` for an offsets or table tensor named ``key`` (None for any other tensor)."""
    layer, _, rest = key.partition(".")
    if rest not in (OFFSETS_KEY, TABLE_KEY):
        return None, rest
    if not layer.isdigit():
        raise ContractError(f"{path}: tensor {key} does not start with a layer number")
    return found.setdefault(int(layer), {}), rest


def _saved_layers(path: Path, found: dict[int, dict[str, Any]]) -> dict[int, SavedLayer]:
    out = {}
    for layer, entry in sorted(found.items()):
        for rest, field in ((OFFSETS_KEY, "offsets"), (TABLE_KEY, "shape")):
            if field not in entry:
                raise ContractError(f"{path}: lacks the tensor {layer}.{rest}")
        shape = entry["shape"]
        if len(shape) != 2:
            raise ContractError(f"{path}: tensor {layer}.{TABLE_KEY} must be 2-D (rows, values), has shape {shape}")
        out[layer] = SavedLayer(entry["offsets"], int(shape[0]), int(shape[1]), entry["dtype"])
    return out


def check_saved_layers(
    cfg: AdapterConfig, saved: dict[int, SavedLayer], primes: dict[int, list[int]], where: Path
) -> RowFormat:
    """Refuse saved offsets or tables that are not the ones the config's primes give; the tables' row format."""
    if sorted(saved) != sorted(cfg.target_layers):
        raise ContractError(
            f"{where}: holds tables for layers {sorted(saved)}, but {cfg.where}: field target_layers is "
            f"{cfg.target_layers}"
        )
    dim = cfg.embedding_dim // cfg.heads
    for layer in cfg.target_layers:
        s, flat = saved[layer], primes[layer]
        expected = [sum(flat[:i]) for i in range(len(flat))]
        if s.offsets != expected:
            raise ContractError(
                f"{where}: tensor {layer}.{OFFSETS_KEY} (layer {layer}) is {s.offsets}, but the primes of "
                f"{cfg.where} give {expected}; the adapter was not saved with this config"
            )
        if (s.rows, s.dim) != (sum(flat), dim):
            raise ContractError(
                f"{where}: tensor {layer}.{TABLE_KEY} (layer {layer}) has shape [{s.rows}, {s.dim}], but the "
                f"config gives [{sum(flat)}, {dim}] (sum of the primes, embedding_dim // heads)"
            )
    dtypes = {s.dtype for s in saved.values()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in DTYPE_BYTES:
        raise ContractError(f"{where}: tables must all be one of {', '.join(DTYPE_BYTES)}, got {sorted(dtypes)}")
    encoding, width = DTYPE_BYTES[next(iter(dtypes))]
    return RowFormat(dim, width * dim, encoding)


def refuse_clean_up(tokenizer_path: Path) -> None:
    """engram-peft decodes through the HF wrapper; with clean-up on, its single-token texts would differ."""
    cfg_path = (tokenizer_path if tokenizer_path.is_dir() else tokenizer_path.parent) / "tokenizer_config.json"
    if not cfg_path.is_file():
        return
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"{cfg_path}: not readable JSON ({exc})") from exc
    if isinstance(cfg, dict) and cfg.get("clean_up_tokenization_spaces"):
        rule = "false (engram-peft decodes with the clean-up on; this reader does not reproduce it)"
        raise refuse(str(cfg_path), "clean_up_tokenization_spaces", rule, True)
