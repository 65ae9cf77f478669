"""Compressed token maps of the DeepSeek-V4.1 and user-as-engram contracts, from a ``tokenizer.json``.

Both decode each raw id on its own (special tokens kept), normalise the text with the same
HF ``tokenizers`` normaliser sequence, and hand out compressed ids in first-appearance order.
They differ only in the key of a token whose text holds U+FFFD (a partial UTF-8 sequence):
V4.1 keys it by its raw token string, the paper by a key unique to the raw id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from engram_probe.contracts.base import ContractError

REPLACEMENT_CHAR = "\ufffd"
SPACE_SENTINEL = "\ue000"
PartialRule = Literal["raw-token", "unique"]


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


def compressed_map(tokenizer: Any, partial: PartialRule) -> np.ndarray:
    """Raw id -> compressed id for every id of the tokenizer (int64)."""
    norm = token_normalizer()
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    keys: dict[str, int] = {}
    out = np.empty(size, dtype=np.int64)
    for raw in range(size):
        text = tokenizer.decode([raw], skip_special_tokens=False)
        if REPLACEMENT_CHAR in text:
            key = "\x00partial:" + (tokenizer.id_to_token(raw) or "") if partial == "raw-token" else f"\x00id:{raw}"
        else:
            key = norm.normalize_str(text) or text
        out[raw] = keys.setdefault(key, len(keys))
    return out
