"""A fact's answer as token ids: every token of it as it follows the trigger, and the positions that read them.

The answer is the teacher-forced continuation: the tokens of ``trigger + sep + answer`` after the trigger's
own tokens (``sep`` is one space unless the trigger or the answer already has one). Teaching it reads the
trigger's last position for the first answer token, the trigger plus the first answer token's last position
for the second, and so on: one sequence, ``trigger + answer[:-1]``, holds every position.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from engram_probe.arch.base import EngramModelBase
from engram_probe.memory.ids import printable
from engram_probe.tokenizer import EngramTokenizer

# The longest answer a fact may have, in tokens of the model's tokenizer. The reference users' longest answers
# are 9 tokens of the shipped tokenizer ("Monday, Tuesday, Wednesday, Thursday, Friday"); 32 leaves room for a
# brought model with a small vocabulary, which spells a two-word name in about 20 tokens.
MAX_ANSWER_TOKENS = 32


class AnswerError(ValueError):
    """An answer that cannot be turned into answer tokens."""


def _comparable(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def answer_separator(prompt: str, answer: str) -> str:
    """The text between a trigger and its answer: one space, unless either side already has one."""
    return "" if answer[:1].isspace() or prompt.endswith((" ", "\n")) else " "


def answer_tokens(tokenizer: EngramTokenizer, prompt: str, answer: str) -> list[int]:
    """Every token of ``answer`` as it follows ``prompt``; refused when empty, too long or not encodable."""
    if not answer or not answer.strip():
        raise AnswerError("the answer is empty")
    sep = answer_separator(prompt, answer)
    prefix = tokenizer.encode(prompt)
    full = tokenizer.encode(prompt + sep + answer)
    if len(full) > len(prefix) and full[: len(prefix)] == prefix:
        ids = full[len(prefix) :]
    else:  # the answer's first token merges with the trigger's last: teach the answer as tokenised alone
        ids = tokenizer.encode(sep + answer, bos=False)
    shown = printable(answer)
    shown = shown if len(shown) <= 40 else shown[:40] + "…"
    if not ids:
        raise AnswerError(f"the answer {shown!r} tokenises to nothing")
    if len(ids) > MAX_ANSWER_TOKENS:
        raise AnswerError(
            f"the answer {shown!r} is {len(ids):,} tokens long; an answer may have at most {MAX_ANSWER_TOKENS} tokens"
        )
    back = tokenizer.decode(ids)
    if _comparable(back) != _comparable(answer):
        raise AnswerError(
            f"the tokenizer cannot encode the answer {shown!r}: its tokens read back as {printable(back)!r}"
        )
    return list(ids)


def gold_token(tokenizer: EngramTokenizer, prompt: str, answer: str) -> tuple[int, str]:
    """First token of the answer as it follows the prompt, and its text."""
    tok = answer_tokens(tokenizer, prompt, answer)[0]
    return tok, tokenizer.token_text(tok)


def teacher_forced(prompt_ids: Sequence[int], answer_ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """The sequence ``prompt + answer[:-1]`` and the positions in it that predict each answer token."""
    if not prompt_ids or not answer_ids:
        raise ValueError("a teacher-forced continuation needs a prompt and at least one answer token")
    first = len(prompt_ids) - 1
    return [*prompt_ids, *answer_ids[:-1]], list(range(first, first + len(answer_ids)))


def position_rows(model: EngramModelBase, token_ids: Sequence[int], positions: Sequence[int], layer: int) -> Tensor:
    """Row ids read at ``positions`` of a sequence in one Engram layer ([len(positions), heads])."""
    addr = model.hasher.addresses(np.asarray(token_ids, dtype=np.int64), layer)
    return torch.from_numpy(addr[list(positions)].copy())
