"""The address contract of an engram-peft 1.2.7 adapter folder, both engines, read with the workbench's own code.

``deepseek`` engine: the multiplicative-XOR family with three differences from DeepSeek's demo, each
named in :meth:`EngramPeftContract.notes`: the prefix window (orders (2, 3) hash (t−2, t−1) and
(t−2, t−1, t)), per-order primes above ``engram_vocab_size_per_ngram // n_head_per_ngram − 1``, and a
compressed map over the base vocabulary only, added tokens hashed with their raw id. ``qwen_ple``
engine: the Qwen PLE rule (raw ids, fixed multipliers, uint64, EOS cuts) on the one target layer.

Both are cross-checked against ``engram_adapters.safetensors`` (its ``{L}.multi_head_embedding.offsets``
and table shapes; only the header and the offsets are read). engram-peft re-derives
``compressed_vocab_size`` from whatever tokenizer it is given; here a tokenizer that gives another size is
refused, because every multiplier, and so every address, depends on it. engram-peft is never imported.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from engram_probe.contracts.base import Check, ContractError, RowFormat, token_array
from engram_probe.contracts.compression import compressed_map, load_tokenizer
from engram_probe.contracts.fields import INT64_MAX, NGRAM, POSITIVE, Flag, Int, IntList, Text, read_field, refuse
from engram_probe.contracts.multxor import MultXorContract
from engram_probe.contracts.ple import PleContract
from engram_probe.contracts.primes import next_primes
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


def deepseek_primes(cfg: AdapterConfig) -> dict[int, list[list[int]]]:
    """engram-peft's primes: layers ascending, per order above ``size // heads − 1``, none used twice."""
    used: set[int] = set()
    out: dict[int, list[list[int]]] = {}
    for layer in sorted(cfg.target_layers):
        out[layer] = []
        for size in cfg.vocab_per_ngram:
            primes = next_primes(size // cfg.heads_per_ngram - 1, cfg.heads_per_ngram, used)
            used.update(primes)
            out[layer].append(primes)
    return out


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
                layer, _, rest = key.partition(".")
                if rest not in (OFFSETS_KEY, TABLE_KEY):
                    continue
                if not layer.isdigit():
                    raise ContractError(f"{path}: tensor {key} does not start with a layer number")
                entry = found.setdefault(int(layer), {})
                if rest == OFFSETS_KEY:
                    entry["offsets"] = [int(x) for x in np.asarray(fh.get_tensor(key)).reshape(-1)]
                else:
                    piece = fh.get_slice(key)
                    entry["shape"], entry["dtype"] = list(piece.get_shape()), str(piece.get_dtype())
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ContractError(f"{path}: not a readable safetensors file, or truncated ({exc})") from exc
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


def _refuse_cleanup(tokenizer_path: Path) -> None:
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


class EngramPeftContract(MultXorContract):
    """engram-peft's ``deepseek`` engine: see the module docstring."""

    def __init__(self, cfg: AdapterConfig, tokenizer: Any, tokenizer_path: Path, weights: Path):
        self.adapter = cfg
        cmap = compressed_map(tokenizer, "raw-token-shared", added_tokens=False)
        size = int(cmap.max()) + 1 if cmap.size else 0
        if size != cfg.compressed_vocab_size:
            raise ContractError(
                f"{tokenizer_path}: compresses to {size} ids, but {cfg.where}: field compressed_vocab_size is "
                f"{cfg.compressed_vocab_size}; engram-peft would silently re-derive every address from this "
                "tokenizer: give the base model's own tokenizer"
            )
        if cfg.pad_id >= len(cmap):
            raise refuse(cfg.where, "pad_id", f"a base-vocabulary id (0..{len(cmap) - 1})", cfg.pad_id)
        self.pad_raw = cfg.pad_id
        self.full_vocab = int(tokenizer.get_vocab_size(with_added_tokens=True))
        primes = deepseek_primes(cfg)
        flat = {L: [p for per_order in ps for p in per_order] for L, ps in primes.items()}
        row_format = check_saved_layers(cfg, read_saved_layers(weights.parent), flat, weights)
        super().__init__(
            name="engram-peft",
            version="1",
            layers=sorted(cfg.target_layers),
            orders=cfg.ngram_sizes,
            heads_per_order=cfg.heads_per_ngram,
            base_size=min(cfg.vocab_per_ngram) // cfg.heads_per_ngram,
            compressed_vocab=size,
            pad_id=int(cmap[cfg.pad_id]),
            row_format=row_format,
            source=f"{Path(cfg.where).name} + {WEIGHTS_FILE} + {tokenizer_path.name}",
            seed=cfg.seed,
            compressed_map=cmap,
            tokenizer=tokenizer,
            window="prefix",
        )
        # the family's primes share one base size; engram-peft's restart per order: put those in
        for L, cols in self._columns.items():
            self._columns[L] = [
                replace(c, size=p, offset=sum(flat[L][: c.column])) for c, p in zip(cols, flat[L], strict=True)
            ]
        self._sizes = {L: np.array(flat[L], dtype=np.int64) for L in self.layers}
        self._offsets = {L: np.array([c.offset for c in cs], dtype=np.int64) for L, cs in self._columns.items()}

    @property
    def raw_vocab(self) -> int | None:
        return self.full_vocab

    def compress(self, token_ids: np.ndarray) -> np.ndarray:
        """Compressed ids; an id past the base vocabulary (an added token) passes through raw, as engram-peft does."""
        ids = token_array(token_ids)
        if ids.size == 0:
            return ids
        cmap = self.compressed_map
        assert cmap is not None
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= self.full_vocab:
            raise ContractError(f"token id out of range 0..{self.full_vocab - 1}: got {low}..{high}")
        if high < len(cmap):
            return cmap[ids]
        return np.where(ids < len(cmap), cmap[np.minimum(ids, len(cmap) - 1)], ids)

    def address_digest(self) -> str:
        """As the family's, plus the window and the pass-through range (neither is in the map)."""
        h = hashlib.sha256(super().address_digest().encode())
        h.update(f"window={self.window};raw_vocab={self.full_vocab}".encode())
        return h.hexdigest()

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        del out["base_size"]
        out.update(
            engine="deepseek",
            vocab_size_per_ngram=list(self.adapter.vocab_per_ngram),
            prime_rule="per layer (ascending) and order: the next unused primes above "
            "vocab_size_per_ngram // heads_per_order - 1",
            pad_token_id=self.pad_raw,
            raw_vocab=self.full_vocab,
            pass_through="ids from compressed_map.raw_vocab to raw_vocab - 1 (added tokens) are hashed raw",
        )
        return out

    def checks(self) -> list[Check]:
        out = [k for k in super().checks() if not k.name.endswith(" primes")]
        for L in self.layers:
            sizes = self._sizes[L]
            detail = f"{len(sizes)} distinct primes, {int(sizes.min())}..{int(sizes.max())}, sum {int(sizes.sum())}"
            out.append(Check(f"layer {L} primes", len(set(sizes.tolist())) == len(sizes), detail))
        out.append(Check("saved offsets", True, f"equal to {WEIGHTS_FILE}'s for layers {list(self.layers)}"))
        return out

    def notes(self) -> list[str]:
        """How this contract deviates from DeepSeek's Engram demo, in plain words."""
        n_max, cfg = self.max_ngram, self.adapter
        base = len(self.compressed_map) if self.compressed_map is not None else 0
        return [
            f"the window is the first n of the last {n_max} tokens: with n-gram sizes {list(self.orders)} the "
            f"{self.orders[0]}-gram hashes tokens t-{n_max - 1}..t-{n_max - self.orders[0]}"
            + (" and excludes the current token t" if self.orders[0] < n_max else "")
            + "; DeepSeek's demo hashes the n tokens ending at t",
            f"rows per head are engram_vocab_size_per_ngram // n_head_per_ngram ({cfg.vocab_per_ngram} // "
            f"{cfg.heads_per_ngram}, primes above that minus one), not engram_vocab_size_per_ngram per head",
            f"compression runs over the base vocabulary ({base} ids); added tokens "
            f"({self.full_vocab - base}) are excluded and hashed with their raw id",
            "a token whose text is a partial UTF-8 sequence is keyed on its raw token string, in the same key "
            "space as normalised texts",
            f"the pad is the compressed id ({self.pad_id}) of the saved pad_id {self.pad_raw}",
        ]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "notes": self.notes()}


class EngramPeftPleContract(PleContract):
    """engram-peft's ``qwen_ple`` engine: the PLE rule, with its table under the adapter's target layer."""

    def __init__(self, cfg: AdapterConfig, sizes: list[int], row_format: RowFormat, tokenizer: Any, source: str):
        self.adapter = cfg
        super().__init__(
            name="engram-peft",
            version="1",
            eos_token_id=PLE_EOS,
            ngram_size=3,
            heads_per_ngram=PLE_HEADS,
            multipliers=PLE_MULTIPLIERS,
            head_sizes=sizes,
            head_offsets=[sum(sizes[:i]) for i in range(len(sizes))],
            padded_rows=None,
            row_format=row_format,
            source=source,
            vocab_size=None if tokenizer is None else int(tokenizer.get_vocab_size(with_added_tokens=True)),
            tokenizer=tokenizer,
        )
        layer = cfg.target_layers[0]
        self.layers = (layer,)
        self._columns = [replace(c, layer=layer) for c in self._columns]

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "engine": "qwen_ple", "layer": self.layers[0]}

    def notes(self) -> list[str]:
        return [
            "raw token ids (no compression), Qwen's fixed multipliers in uint64, current token first, "
            f"windows cut at EOS {PLE_EOS}",
            f"one table, under target layer {self.layers[0]} (the qwen3.8-ple contract keys its table 0)",
            "seed and engram_vocab_size_per_ngram are not used; head sizes are prime_sizes, or the first "
            f"{2 * PLE_HEADS} primes above {PLE_PRIMES_AFTER:,}",
        ]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "notes": self.notes()}


def engram_peft_contract(
    adapter_dir: str | Path, tokenizer_path: str | Path | None = None
) -> EngramPeftContract | EngramPeftPleContract:
    """The contract of an engram-peft adapter folder (or its config.json) with the base's tokenizer.json (or folder).

    The deepseek engine needs the tokenizer (its compressed map sets every multiplier); qwen_ple hashes raw
    ids and takes the tokenizer only to address text."""
    cfg = read_adapter_config(adapter_dir)
    weights = Path(cfg.where).parent / WEIGHTS_FILE
    tok, tok_path = None, None
    if tokenizer_path is not None:
        tok_path = Path(tokenizer_path)
        tok = load_tokenizer(tok_path)
        tok_path = tok_path / "tokenizer.json" if tok_path.is_dir() else tok_path
    if cfg.engine == "deepseek":
        if tok is None or tok_path is None:
            raise ContractError(
                "engram-peft (deepseek engine) needs --tokenizer (the base model's tokenizer.json): its compressed "
                "map, and so its multipliers, come from the tokenizer"
            )
        _refuse_cleanup(tok_path)
        return EngramPeftContract(cfg, tok, tok_path, weights)
    sizes = cfg.prime_sizes or next_primes(PLE_PRIMES_AFTER, 2 * PLE_HEADS)
    row_format = check_saved_layers(cfg, read_saved_layers(weights.parent), {cfg.target_layers[0]: sizes}, weights)
    source = f"{Path(cfg.where).name} + {WEIGHTS_FILE}" + (f" + {tok_path.name}" if tok_path is not None else "")
    return EngramPeftPleContract(cfg, sizes, row_format, tok, source)
