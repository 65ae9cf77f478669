"""The project's byte-level BPE tokenizer (trained here, never downloaded)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

BOS = "<|bos|>"


class EngramTokenizer:
    """Thin wrapper over a ``tokenizers.Tokenizer`` with BOS handling and digests."""

    def __init__(self, tokenizer: Tokenizer):
        self.tok = tokenizer
        bos_id = tokenizer.token_to_id(BOS)
        if bos_id is None:
            raise ValueError(f"tokenizer has no {BOS} token")
        self.bos_id = bos_id

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int) -> EngramTokenizer:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=[BOS],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    @classmethod
    def load(cls, path: str | Path) -> EngramTokenizer:
        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
            raise ValueError(f"cannot read tokenizer {path}: {exc}") from exc

    def save(self, path: str | Path) -> None:
        self.tok.save(str(path))

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def encode(self, text: str, bos: bool = True) -> list[int]:
        ids = self.tok.encode(text, add_special_tokens=False).ids
        return [self.bos_id, *ids] if bos else ids

    def encode_batch(self, texts: list[str], bos: bool = True) -> list[list[int]]:
        out = self.tok.encode_batch(texts, add_special_tokens=False)
        return [[self.bos_id, *e.ids] if bos else e.ids for e in out]

    def decode(self, ids: Iterable[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=False)

    def token_text(self, token_id: int) -> str:
        """Text of one token on its own (partial UTF-8 shows as U+FFFD)."""
        return self.tok.decode([token_id], skip_special_tokens=False)

    def token_texts(self) -> list[str]:
        return [self.token_text(i) for i in range(self.vocab_size)]

    def digest(self) -> str:
        return hashlib.sha256(self.tok.to_str().encode()).hexdigest()
