"""Compressed token maps of the DeepSeek-V4.1, user-as-engram and engram-peft contracts, from a ``tokenizer.json``.

All three decode each raw id on its own (special tokens kept), normalise the text with the same
HF ``tokenizers`` normaliser sequence, and hand out compressed ids in first-appearance order.
They differ in the key of a token whose text holds U+FFFD (a partial UTF-8 sequence): V4.1 keys
it by its raw token string kept apart from every text key, the paper by a key unique to the raw
id, engram-peft by its raw token string in the same key space as the texts (so the raw token
``¡`` and the text ``¡`` share an id). engram-peft also maps only the base vocabulary (added
tokens left out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from engram_probe.contracts.base import ContractError

REPLACEMENT_CHAR = "\ufffd"
SPACE_SENTINEL = "\ue000"
PartialRule = Literal["raw-token", "unique", "raw-token-shared"]


def load_tokenizer(path: str | Path) -> Any:
    """An HF ``tokenizers.Tokenizer`` from a ``tokenizer.json``, with a clear error on a bad file."""
    from tokenizers import Tokenizer

    p = Path(path)
    if p.is_dir():
        p = p / "tokenizer.json"
    if not p.is_file():
        raise ContractError(f"no tokenizer file at {p}")
    if p.suffix in (".pkl", ".pickle"):
        raise ContractError(f"{p.name} is a pickle; give the model's tokenizer.json (pickles run code when loaded)")
    try:
        tok = Tokenizer.from_file(str(p))
    except Exception as exc:  # the Rust side raises a bare Exception on malformed JSON
        raise ContractError(f"{p.name} is not a readable tokenizer.json ({exc})") from exc
    if tok.get_vocab_size(with_added_tokens=True) == 0:
        raise ContractError(f"{p.name}: field model.vocab must hold at least one token, got an empty vocabulary")
    return tok


def token_normalizer() -> Any:
    """NFKC, NFD, strip accents, lowercase, collapse whitespace, keep a lone space, strip."""
    from tokenizers import Regex, normalizers

    return normalizers.Sequence(
        [
            normalizers.NFKC(),
            normalizers.NFD(),
            normalizers.StripAccents(),
            normalizers.Lowercase(),
            normalizers.Replace(Regex(r"[ \t\r\n]+"), " "),
            normalizers.Replace(Regex(r"^ $"), SPACE_SENTINEL),
            normalizers.Strip(),
            normalizers.Replace(SPACE_SENTINEL, " "),
        ]
    )


def _partial_key(tokenizer: Any, raw: int, partial: PartialRule) -> str:
    if partial == "unique":
        return f"\x00id:{raw}"
    token = tokenizer.id_to_token(raw) or ""
    return "\x00partial:" + token if partial == "raw-token" else token


def compressed_map(tokenizer: Any, partial: PartialRule, added_tokens: bool = True) -> np.ndarray:
    """Raw id -> compressed id for every id of the tokenizer (int64); ``added_tokens=False``: base vocabulary only."""
    norm = token_normalizer()
    size = tokenizer.get_vocab_size(with_added_tokens=added_tokens)
    keys: dict[str, int] = {}
    out = np.empty(size, dtype=np.int64)
    for raw in range(size):
        text = tokenizer.decode([raw], skip_special_tokens=False)
        partial_text = REPLACEMENT_CHAR in text
        key = _partial_key(tokenizer, raw, partial) if partial_text else norm.normalize_str(text) or text
        out[raw] = keys.setdefault(key, len(keys))
    return out
