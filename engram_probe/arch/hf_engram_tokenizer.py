"""A Hugging Face base's own tokenizer (``tokenizer.json``) behind the workbench's tokenizer interface."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engram_probe.arch.hf_engram_config import CONFIG, read_json
from engram_probe.arch.loaded import ModelFileError
from engram_probe.contracts.base import ContractError
from engram_probe.contracts.compression import load_tokenizer
from engram_probe.tokenizer import EngramTokenizer

TOKENIZER, TOKENIZER_CONFIG = "tokenizer.json", "tokenizer_config.json"


def _token_name(value: Any) -> str | None:
    """A special token as tokenizer_config.json writes it: a string, or an object with its ``content``."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


class HFTokenizer(EngramTokenizer):
    """The base's tokenizer; its BOS is the base's ``bos_token`` (else ``bos_token_id``, else the EOS token).

    Text is encoded without the tokenizer's own post-processor, and ``encode(bos=True)`` puts the BOS
    first, as the workbench does for its own tokenizer, so every model sees a document start the same way.
    """

    def __init__(self, tokenizer: Any, bos_id: int) -> None:
        self.tok = tokenizer
        self.bos_id = bos_id

    @classmethod
    def from_folder(cls, base_dir: Path) -> HFTokenizer:
        """The tokenizer of a base folder, with the BOS its config files name."""
        try:
            tok = load_tokenizer(base_dir / TOKENIZER)
        except ContractError as exc:
            raise ModelFileError(f"{base_dir / TOKENIZER}: {exc}") from exc
        tok_cfg = read_json(base_dir / TOKENIZER_CONFIG) if (base_dir / TOKENIZER_CONFIG).is_file() else {}
        model_cfg = read_json(base_dir / CONFIG)
        for field in ("bos_token", "eos_token"):
            name = _token_name(tok_cfg.get(field))
            if name is not None and tok.token_to_id(name) is not None:
                return cls(tok, int(tok.token_to_id(name)))
            ids = model_cfg.get(f"{field}_id")
            ids = ids[0] if isinstance(ids, list) and ids else ids
            if isinstance(ids, int) and not isinstance(ids, bool) and 0 <= ids < tok.get_vocab_size(True):
                return cls(tok, ids)
        raise ModelFileError(
            f"{base_dir}: no document-start token: {TOKENIZER_CONFIG} names no bos_token or eos_token and "
            f"{CONFIG} no bos_token_id or eos_token_id"
        )
