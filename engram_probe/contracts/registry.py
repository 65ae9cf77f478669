"""Named contracts, built from a model's own files or from presets of published constants.

| name | built from | preset |
|---|---|---|
| ``workbench`` | a workbench model directory (config.json + tokenizer.json) | the shipped model |
| ``user-as-engram`` | the checkpoint's config.json + a tokenizer.json | none |
| ``deepseek-v4.1`` | config.json (``text_config`` engram fields) [+ tokenizer.json] | DeepSeek-V4.1-Flash |
| ``qwen3.8-ple`` | a GGUF file, or a JSON of its ``qwen4exp.ple.*`` keys | Qwen3.8-Flash-Next |
| ``engram-peft`` | an engram-peft adapter folder (or its config.json) [+ the base's tokenizer.json] | none |

Salting (``contract.salted(salt)``, ``base.user_salt``): every contract named here can be salted, because each
hashes with a multiply-XOR mix: ``workbench``, ``user-as-engram``, ``deepseek-v4.1`` and engram-peft's
``deepseek`` engine XOR the salt into the int64 mix, ``qwen3.8-ple`` and engram-peft's ``qwen_ple`` engine into
the uint64 mix, before the modulo. A contract without such a mix refuses, naming itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engram_probe.contracts.base import AddressContract, ContractError, RowFormat
from engram_probe.contracts.compression import compressed_map, load_tokenizer
from engram_probe.contracts.fields import INT64_MAX, NGRAM, POSITIVE, Int, IntList, read_field, refuse, shown
from engram_probe.contracts.multxor import MultXorContract
from engram_probe.contracts.ple import PleContract
from engram_probe.contracts.primes import consecutive_primes
from engram_probe.extras import require

CONTRACT_NAMES = ("workbench", "user-as-engram", "deepseek-v4.1", "qwen3.8-ple", "engram-peft")

# DeepSeek-V4.1-Flash, text_config of the released config.json (see docs/production-models.md).
V41_FLASH = {
    "engram_layer_ids": [1, 14],
    "engram_max_ngram_size": 4,
    "engram_n_heads": 8,
    "engram_vocab_size": 16_000_000,
    "engram_compressed_vocab_size": 99_092,
    "engram_pad_token_id": 2,
    "engram_num_embeddings": [384_006_168, 384_016_682],
    "engram_head_dim": 256,
}
V41_BLOCK = 32  # values per UE8M0 scale
V41_ROW = RowFormat(256, 264, "fp8-e4m3 + one ue8m0 scale per 32 values", (("float32", 1024), ("bf16", 512)))

# Qwen3.8-Flash-Next, GGUF metadata ``qwen4exp.ple.*``.
QWEN_PREFIX = "qwen4exp.ple."
QWEN_EOS, QWEN_FIRST_PRIME, QWEN_HEADS, QWEN_PADDED = 248_044, 20_000_003, 16, 320_001_536
QWEN_MULTIPLIERS = [23_703_573_157_769, 20_109_073_645_365, 8_052_911_324_071]
QWEN_DIM = 160


def qwen_row(dim: int) -> RowFormat:
    blocks = -(-dim // 32)
    return RowFormat(
        dim, blocks * 18, "IQ4_NL (per 32 values: fp16 scale + 16 bytes of nibbles)", (("float32", 4 * dim),)
    )


def _json_file(path: str | Path, what: str) -> dict[str, Any]:
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    if not p.is_file():
        raise ContractError(f"no {what} at {p}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"{p.name} is not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ContractError(f"{p.name} must hold a JSON object")
    return data


def _int(cfg: dict[str, Any], key: str, *aliases: str, where: str = "config", rule: Int = POSITIVE) -> int:
    return read_field(cfg, key, rule, where, aliases=aliases)


def _int_list(cfg: dict[str, Any], key: str, where: str = "config", rule: IntList = IntList(scalar=True)) -> list[int]:
    return read_field(cfg, key, rule, where)


def _layer_ids(cfg: dict[str, Any], where: str, depth_field: str) -> list[int]:
    """engram_layer_ids: distinct, >= 0, and inside the model's depth when the config states it."""
    depth = read_field(cfg, depth_field, POSITIVE, where, default=None)
    note = f"({depth_field} is {depth})" if depth is not None else ""
    rule = IntList(0, None if depth is None else depth - 1, distinct=True, scalar=True, note=note)
    return read_field(cfg, "engram_layer_ids", rule, where)


# --------------------------------------------------------------------------- workbench
def workbench_contract(model_dir: str | Path | None = None) -> AddressContract:
    """The shipped architecture's contract from a model directory's config.json and tokenizer.json."""
    from engram_probe.contracts.workbench import NgramHasher, build_canonical_map
    from engram_probe.contracts.workbench_config import DEFAULT_MODEL_DIR, WEIGHTS_FILE, EngramConfig
    from engram_probe.tokenizer import EngramTokenizer

    root = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    where = root / "config.json"
    try:
        cfg = EngramConfig.from_dict(_json_file(root, "workbench config.json"))
    except ContractError:
        raise
    except (TypeError, ValueError) as exc:
        raise ContractError(f"{where}: {exc}") from exc
    try:
        tok = EngramTokenizer.load(root / "tokenizer.json")
    except ValueError as exc:
        raise ContractError(str(exc)) from exc
    canonical = build_canonical_map(tok.token_texts())
    if (root / WEIGHTS_FILE).is_file():
        _same_as_weights(root, cfg, tok.digest(), canonical)
    hasher = NgramHasher(cfg, canonical, tokenizer=tok)
    hasher.source = "shipped model" if model_dir is None else f"model directory {root}"
    return hasher


def _same_as_weights(root: Path, cfg: Any, tokenizer_sha256: str, canonical: Any) -> None:
    """Refuse a model folder whose config.json or tokenizer is not the one its weights were built with.

    The model loader takes its config from the weights' metadata and its canonical map from the weights;
    the contract takes them from config.json and tokenizer.json. Both must be the same, or the contract's
    digest would describe a model that is not the one in the folder.
    """
    import numpy as np
    from safetensors import safe_open

    from engram_probe.contracts.workbench_config import WEIGHTS_FILE, EngramConfig
    from engram_probe.safetensors_io import UnreadableSafetensors, read_metadata

    weights = root / WEIGHTS_FILE
    try:
        meta = read_metadata(weights)
    except UnreadableSafetensors as exc:
        raise ContractError(f"{weights}: not a readable safetensors file, or truncated ({exc})") from exc
    try:
        built = EngramConfig.from_dict(json.loads(meta["config"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ContractError(f"{weights}: its config metadata is missing or invalid ({exc})") from exc
    ours, theirs = cfg.to_dict(), built.to_dict()
    for key in ours:
        if key != "extra" and ours[key] != theirs[key]:
            raise ContractError(
                f"{root / 'config.json'}: field {key} is {shown(ours[key])}, but the weights in {WEIGHTS_FILE} "
                f"were built with {shown(theirs[key])}; the contract must be the model's own"
            )
    if meta.get("tokenizer_sha256") not in (None, tokenizer_sha256):
        raise ContractError(
            f"{root / 'tokenizer.json'} is not the tokenizer the weights in {WEIGHTS_FILE} were built with"
        )
    try:
        with safe_open(str(weights), "np") as fh:
            stored = fh.get_tensor("canonical_map") if "canonical_map" in fh.keys() else None  # noqa: SIM118
    except Exception as exc:  # safetensors raises several types for a damaged tensor
        raise ContractError(f"{weights}: not a readable safetensors file, or truncated ({exc})") from exc
    if stored is not None and not np.array_equal(stored, canonical):
        raise ContractError(
            f"{weights}: its canonical_map differs from the one built from tokenizer.json; "
            "the contract must be the model's own"
        )


# --------------------------------------------------------------------------- user-as-engram
def paper_contract(config: str | Path | None, tokenizer: str | Path | None) -> AddressContract:
    """The paper's nanochat-engram contract: its checkpoint config.json plus a tokenizer.json."""
    if config is None:
        raise ContractError("user-as-engram has no preset: give --config (the checkpoint's config.json)")
    if tokenizer is None:
        raise ContractError(
            "user-as-engram needs --tokenizer (tokenizer.json): its compressed map, and so its multipliers, "
            "come from the tokenizer"
        )
    cfg = _json_file(config, "config.json")
    where = Path(config).name
    layers = _layer_ids(cfg, where, "n_layer")
    max_n = _int(cfg, "engram_max_ngram_size", where=where, rule=NGRAM)
    heads = _int(cfg, "engram_n_head_per_ngram", where=where)
    n_embed = _int(cfg, "engram_n_embed_per_ngram", where=where)
    if n_embed % heads:
        raise refuse(where, "engram_n_embed_per_ngram", f"divisible by engram_n_head_per_ngram ({heads})", n_embed)
    base_size = _int(cfg, "engram_vocab_per_ngram", where=where, rule=Int(3, INT64_MAX))
    vocab = _int(cfg, "vocab_size", where=where)
    tok = load_tokenizer(tokenizer)
    cmap = compressed_map(tok, "unique")
    if vocab < len(cmap):
        raise ContractError(f"{where}: field vocab_size ({vocab}) is smaller than the tokenizer's {len(cmap)} ids")
    dim = n_embed // heads
    return MultXorContract(
        name="user-as-engram",
        version="1",
        layers=layers,
        orders=range(2, max_n + 1),
        heads_per_order=heads,
        base_size=base_size,
        compressed_vocab=int(cmap.max()) + 1,
        pad_id=int(cmap[0]),
        row_format=RowFormat(dim, 4 * dim, "float32", (("bf16", 2 * dim),)),
        source=f"{Path(config).name} + {Path(tokenizer).name}",
        compressed_map=cmap,
        tokenizer=tok,
    )


# --------------------------------------------------------------------------- deepseek-v4.1
def v41_contract(config: str | Path | None, tokenizer: str | Path | None) -> AddressContract:
    """DeepSeek-V4.1 from its config.json (or the V4.1-Flash preset); the compressed map needs a tokenizer."""
    if config is None:
        cfg, source = dict(V41_FLASH), "preset DeepSeek-V4.1-Flash"
    else:
        raw = _json_file(config, "config.json")
        cfg = raw.get("text_config", raw)
        source = Path(config).name
        if not isinstance(cfg, dict):
            raise refuse(source, "text_config", "a JSON object", cfg)
    where = source
    layers = _layer_ids(cfg, where, "num_hidden_layers")
    compressed_vocab = _int(cfg, "engram_compressed_vocab_size", where=where, rule=Int(1, INT64_MAX))
    pad_raw = _int(cfg, "engram_pad_token_id", "engram_pad_id", where=where, rule=Int(0, INT64_MAX))
    max_n = _int(cfg, "engram_max_ngram_size", where=where, rule=NGRAM)
    heads = _int(cfg, "engram_n_heads", "engram_num_heads", where=where)
    base_size = _int(cfg, "engram_vocab_size", where=where, rule=Int(3, INT64_MAX))
    dim = read_field(cfg, "engram_head_dim", POSITIVE, where, default=256)
    if dim % V41_BLOCK:
        rule = f"a multiple of {V41_BLOCK} (one UE8M0 scale per {V41_BLOCK} values)"
        raise refuse(where, "engram_head_dim", rule, dim)
    cmap = tok = None
    if tokenizer is not None:
        tok = load_tokenizer(tokenizer)
        cmap = compressed_map(tok, "raw-token")
        size = int(cmap.max()) + 1
        if size != compressed_vocab:
            raise ContractError(
                f"the tokenizer's compressed map has {size} ids but engram_compressed_vocab_size is {compressed_vocab}"
            )
        if not 0 <= pad_raw < len(cmap):
            raise ContractError(f"engram_pad_token_id {pad_raw} is not a token id of the tokenizer")
        source += f" + {Path(tokenizer).name}"
    # without a tokenizer the published pad id (raw 2 -> compressed 2 in V4.1-Flash) is taken as compressed
    pad = int(cmap[pad_raw]) if cmap is not None else pad_raw
    contract = MultXorContract(
        name="deepseek-v4.1",
        version="1",
        layers=layers,
        orders=range(2, max_n + 1),
        heads_per_order=heads,
        base_size=base_size,
        compressed_vocab=compressed_vocab,
        pad_id=pad,
        row_format=V41_ROW if dim == 256 else RowFormat(dim, dim + dim // 32, V41_ROW.encoding),
        source=source,
        compressed_map=cmap,
        allows_dead=True,
        tokenizer=tok,
    )
    if "engram_num_embeddings" in cfg:
        sizes = _int_list(cfg, "engram_num_embeddings", where, IntList(1, INT64_MAX, scalar=True))
        if len(sizes) != len(layers):
            raise ContractError(
                f"engram_num_embeddings has {len(sizes)} entries for {len(layers)} engram_layer_ids {layers}"
            )
        for layer, n in zip(layers, sizes, strict=True):
            total = contract.table_rows(layer)
            if total != n:
                raise ContractError(
                    f"engram_num_embeddings for layer {layer} is {n}, but that layer's primes sum to {total}"
                )
    return contract


# --------------------------------------------------------------------------- qwen3.8-ple
def read_gguf_metadata(path: str | Path) -> dict[str, Any]:
    """The ``qwen4exp.*`` metadata of a GGUF file (tensors are never read), plus the PLE table's row count."""
    GGUFReader = require("gguf", "Reading GGUF metadata").GGUFReader  # noqa: N806

    try:
        reader = GGUFReader(str(path), "r")
    except Exception as exc:  # gguf raises ValueError/struct.error/… on damaged files
        raise ContractError(f"{Path(path).name} is not a readable GGUF file ({exc})") from exc
    out: dict[str, Any] = {}
    for name, field in reader.fields.items():
        if name.startswith("qwen4exp."):
            out[name] = field.contents()
    for t in reader.tensors:
        if t.name == "per_layer_token_embd.weight":
            out["per_layer_token_embd.weight.rows"] = int(max(t.shape))
    return out


def qwen_contract(config: str | Path | None, tokenizer: str | Path | None) -> AddressContract:
    """Qwen3.8 PLE from GGUF metadata (a .gguf or a JSON of the same keys), or the Flash-Next preset."""
    tok = load_tokenizer(tokenizer) if tokenizer is not None else None
    if config is None:
        sizes = consecutive_primes(QWEN_FIRST_PRIME, QWEN_HEADS)
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        meta: dict[str, Any] = {
            "eos_token_id": QWEN_EOS,
            "ngram_size": 3,
            "heads_per_ngram": 8,
            "layer_multipliers": QWEN_MULTIPLIERS,
            "head_vocab_sizes": sizes,
            "head_offsets": offsets,
        }
        padded, dim, source = QWEN_PADDED, QWEN_DIM, "preset Qwen3.8-Flash-Next"
    else:
        p = Path(config)
        raw = read_gguf_metadata(p) if p.suffix == ".gguf" else _json_file(p, "GGUF metadata JSON")
        meta = {k[len(QWEN_PREFIX) :]: v for k, v in raw.items() if k.startswith(QWEN_PREFIX)}
        if not meta:
            raise ContractError(f"{p.name} has no {QWEN_PREFIX}* keys")
        source = p.name
        rows_rule = Int(1, INT64_MAX)
        padded = read_field(raw, "per_layer_token_embd.weight.rows", rows_rule, source, default=None)
        dim = read_field(raw, "qwen4exp.embedding_length_per_layer_input", POSITIVE, source, default=QWEN_DIM)
    where = source
    for key in (
        "eos_token_id",
        "ngram_size",
        "heads_per_ngram",
        "layer_multipliers",
        "head_vocab_sizes",
        "head_offsets",
    ):
        if key not in meta:
            raise ContractError(f"{where}: the metadata lacks {QWEN_PREFIX}{key}")
    named = {k: QWEN_PREFIX + k for k in meta}  # refusals name the key as the file spells it
    fields = {named[k]: v for k, v in meta.items()}
    return PleContract(
        name="qwen3.8-ple",
        version="1",
        eos_token_id=_int(fields, named["eos_token_id"], where=where, rule=Int(0, 2**32 - 1)),
        ngram_size=_int(fields, named["ngram_size"], where=where, rule=NGRAM),
        heads_per_ngram=_int(fields, named["heads_per_ngram"], where=where),
        multipliers=_int_list(fields, named["layer_multipliers"], where, IntList(1, 2**64 - 1, scalar=True)),
        head_sizes=_int_list(fields, named["head_vocab_sizes"], where, IntList(1, INT64_MAX, scalar=True)),
        head_offsets=_int_list(fields, named["head_offsets"], where, IntList(0, INT64_MAX, scalar=True)),
        padded_rows=padded,
        row_format=qwen_row(dim),
        source=source + (f" + {Path(tokenizer).name}" if tokenizer else ""),
        vocab_size=tok.get_vocab_size(with_added_tokens=True) if tok is not None else None,
        tokenizer=tok,
    )


# --------------------------------------------------------------------------- engram-peft
def peft_contract(config: str | Path | None, tokenizer: str | Path | None) -> AddressContract:
    """An engram-peft adapter's contract: its folder (or config.json) and the base model's tokenizer.json."""
    from engram_probe.contracts.engram_peft import engram_peft_contract

    if config is None:
        raise ContractError("engram-peft has no preset: give --config (the adapter folder's config.json)")
    return engram_peft_contract(config, tokenizer)


def load_contract(name: str, config: str | Path | None = None, tokenizer: str | Path | None = None) -> AddressContract:
    """Build a named contract from the model's files, or from its preset where ``config`` is None."""
    if name == "workbench":
        if tokenizer is not None:
            raise ContractError("the workbench contract takes a model directory as --config; its tokenizer is inside")
        return workbench_contract(config)
    builders = {
        "user-as-engram": paper_contract,
        "deepseek-v4.1": v41_contract,
        "qwen3.8-ple": qwen_contract,
        "engram-peft": peft_contract,
    }
    if name not in builders:
        raise ContractError(f"unknown contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    return builders[name](config, tokenizer)
