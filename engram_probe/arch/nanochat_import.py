"""Import a checkpoint of the paper's nanochat-engram models: ``model.pt`` + ``config.json`` + ``tokenizer.json``.

``model.pt`` is read with ``torch.load(weights_only=True)`` (tensors only, no code). The authors'
tokenizer pickles (``tokenizer.pkl``, ``engram_canonical_map.pkl``) run code when loaded: they are
refused unless the caller passes ``trust_pickle=True``, and even then only the canonical map is taken
from a pickle; text still goes through ``tokenizer.json``. Every key and shape is checked before use.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engram_probe.arch.loaded import ArchitectureLoader, LoadedModel, ModelFileError
from engram_probe.arch.nanochat import NanochatEngram
from engram_probe.arch.nanochat_config import NanochatConfig, UnsupportedConfig
from engram_probe.arch.weights import is_finite
from engram_probe.contracts.base import ContractError
from engram_probe.contracts.compression import compressed_map, load_tokenizer
from engram_probe.tokenizer import EngramTokenizer

WEIGHTS, CONFIG, TOKENIZER = "model.pt", "config.json", "tokenizer.json"
PICKLES = ("tokenizer.pkl", "engram_canonical_map.pkl")

# (pattern of the authors' key, our key) — one rule per tensor kind
KEY_RULES = [
    (r"transformer\.wte\.weight", "embed.weight"),
    (r"lm_head\.weight", "unembed.weight"),
    (r"(smear_gate\.weight|smear_lambda|backout_lambda|resid_lambdas|x0_lambdas)", r"\1"),
    (r"transformer\.h\.(\d+)\.attn\.c_q\.weight", r"blocks.\1.attn.W_Q.weight"),
    (r"transformer\.h\.(\d+)\.attn\.c_k\.weight", r"blocks.\1.attn.W_K.weight"),
    (r"transformer\.h\.(\d+)\.attn\.c_v\.weight", r"blocks.\1.attn.W_V.weight"),
    (r"transformer\.h\.(\d+)\.attn\.c_proj\.weight", r"blocks.\1.attn.W_O.weight"),
    (r"transformer\.h\.(\d+)\.attn\.ve_gate\.weight", r"blocks.\1.attn.ve_gate.weight"),
    (r"value_embeds\.(\d+)\.weight", r"blocks.\1.attn.value_embed.weight"),
    (r"transformer\.h\.(\d+)\.mlp\.c_fc\.weight", r"blocks.\1.mlp.W_in.weight"),
    (r"transformer\.h\.(\d+)\.mlp\.c_proj\.weight", r"blocks.\1.mlp.W_out.weight"),
    (r"engram\.tables\.(\d+)\.embedding\.weight", r"blocks.\1.engram.table.weight"),
    (r"engram\.layers_module\.(\d+)\.key_proj\.weight", r"blocks.\1.engram.W_K.weight"),
    (r"engram\.layers_module\.(\d+)\.value_proj\.weight", r"blocks.\1.engram.W_V.weight"),
    (r"engram\.layers_module\.(\d+)\.short_conv\.conv\.weight", r"blocks.\1.engram.conv_weight"),
]


def map_key(key: str) -> str | None:
    """Our parameter name for one of the authors' state-dict keys (None if it is not theirs)."""
    for pattern, target in KEY_RULES:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, target, key)
    return None


def is_nanochat_dir(path: str | Path) -> bool:
    return (Path(path) / WEIGHTS).is_file()


def _looks_like_torch_file(path: Path) -> bool:
    """A torch.save file: a zip archive (the current format) or a pickle stream (the legacy one)."""
    if zipfile.is_zipfile(path):
        return True
    with path.open("rb") as fh:
        return fh.read(1) == b"\x80"  # pickle protocol 2+ opcode


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors, read without running code; every other content is refused, saying which."""
    unreadable = f"{path.name} is not a readable checkpoint: it is truncated, corrupt, or not a torch file"
    try:
        is_torch = _looks_like_torch_file(path)
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not is_torch:
            raise ModelFileError(unreadable) from exc
        # torch's own message suggests turning the safety check off; it is not repeated here
        raise ModelFileError(
            f"{path.name} holds more than tensors: objects whose loading would run code, so it is refused. "
            "Export the model's state dict of tensors only"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ModelFileError(unreadable) from exc
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"{path.name} is not a state dict of tensors")
    return {k.removeprefix("_orig_mod."): v for k, v in state.items()}


def canonical_for(root: Path, tok: Any, trust_pickle: bool) -> np.ndarray:
    """The canonical map from tokenizer.json; a pickled map only with ``trust_pickle`` (and it must agree)."""
    built = compressed_map(tok, "unique")
    pkl = root / "engram_canonical_map.pkl"
    if pkl.is_file() and trust_pickle:
        with pkl.open("rb") as fh:
            arr = pickle.load(fh)  # noqa: S301 (the caller asked for it explicitly)
        arr = np.asarray(arr[0] if isinstance(arr, tuple) else arr, dtype=np.int64)
        if not np.array_equal(arr, built):
            raise ModelFileError(f"{pkl.name} disagrees with the canonical map built from {TOKENIZER}")
    return built


def load_nanochat(model_dir: str | Path, trust_pickle: bool = False) -> LoadedModel:
    """Load an authors'-layout checkpoint directory; refuse anything that does not fit, saying what."""
    root = Path(model_dir)
    if not (root / TOKENIZER).is_file():
        found = [p for p in PICKLES if (root / p).is_file()]
        if found and not trust_pickle:
            raise ModelFileError(
                f"{root} has the tokenizer only as {', '.join(found)}: loading a pickle runs code. Convert the "
                f"tokenizer to {TOKENIZER}, or pass --trust-pickle if you trust this file"
            )
        raise ModelFileError(f"no {TOKENIZER} in {root}: text needs the model's tokenizer")
    try:
        saved = json.loads((root / CONFIG).read_text(encoding="utf-8"))
        cfg = NanochatConfig.from_saved(saved)
    except FileNotFoundError as exc:
        raise ModelFileError(f"no {CONFIG} in {root}") from exc
    except (json.JSONDecodeError, UnsupportedConfig, TypeError) as exc:
        raise ModelFileError(f"{root / CONFIG}: {exc}") from exc
    try:
        hf_tok = load_tokenizer(root / TOKENIZER)
        tokenizer = EngramTokenizer(hf_tok)
    except (ContractError, ValueError) as exc:
        raise ModelFileError(str(exc)) from exc
    if hf_tok.get_vocab_size(with_added_tokens=True) > cfg.vocab_size:
        raise ModelFileError(f"{TOKENIZER} has more ids than the config's vocab_size {cfg.vocab_size}")
    canonical = canonical_for(root, hf_tok, trust_pickle)
    model = NanochatEngram(cfg, canonical, hf_tok)
    theirs = read_state(root / WEIGHTS)
    ours: dict[str, torch.Tensor] = {}
    unexpected = []
    for key, value in theirs.items():
        target = map_key(key)
        (unexpected.append(key) if target is None else ours.__setitem__(target, value))
    expected = {k: v for k, v in model.state_dict().items() if k != "canonical_map"}
    missing = sorted(set(expected) - set(ours))
    unexpected += sorted(set(ours) - set(expected))
    if missing or unexpected:
        raise ModelFileError(f"{WEIGHTS} does not fit the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for key, value in ours.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ModelFileError(
                f"{WEIGHTS}: {key} has shape {list(value.shape)}, the config needs {list(expected[key].shape)}"
            )
        if not value.is_floating_point():
            raise ModelFileError(f"{WEIGHTS}: {key} is {value.dtype}, expected floating point")
        if value.numel() and not is_finite(value):
            raise ModelFileError(f"{WEIGHTS}: tensor {key} holds NaN or infinite values; the weights are damaged")
        ours[key] = value.to(torch.float32)  # bf16 tables and embeddings upcast exactly
    ours["canonical_map"] = model.canonical_map
    model.load_state_dict(ours)
    model.eval()
    return LoadedModel(model, tokenizer, model.weights_digest(), {"imported_from": str(root)}, root)


LOADER = ArchitectureLoader(
    name=NanochatEngram.architecture,
    needs=f"{WEIGHTS} (a state dict of tensors), {CONFIG} and {TOKENIZER}",
    recognises=is_nanochat_dir,
    load=lambda root, options: load_nanochat(root, trust_pickle=options.trust_pickle),
)
