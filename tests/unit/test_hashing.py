"""Properties of the N-gram hash: ranges, primes, compression, position independence, determinism."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from engram_probe.contracts.compression import SPACE_SENTINEL, token_normalizer
from engram_probe.contracts.primes import is_prime, next_primes
from engram_probe.contracts.workbench import (
    NgramHasher,
    build_canonical_map,
    normalize_token_text,
)
from engram_probe.contracts.workbench_config import EngramConfig
from tests.helpers import tiny_cfg

TEXTS = ["<|bos|>", " Apple", "apple", "APPLE", " is", "is", "  ", " ", "\t", "Café", "cafe", "x\ufffd", "y\ufffd", "ﬁ"]


def hasher(cfg: EngramConfig | None = None) -> NgramHasher:
    cfg = cfg or tiny_cfg(d_vocab=len(TEXTS))
    return NgramHasher(cfg, build_canonical_map(TEXTS))


def test_normalisation_collapses_case_accents_and_space() -> None:
    assert normalize_token_text(" Apple") == normalize_token_text("APPLE") == "apple"
    assert normalize_token_text("Café") == "cafe"
    assert normalize_token_text("ﬁ") == "fi"  # NFKC ligature
    assert normalize_token_text("  ") == SPACE_SENTINEL
    assert normalize_token_text("\t") == SPACE_SENTINEL


def test_canonical_map_merges_equal_forms_and_keeps_partial_bytes_apart() -> None:
    cmap = build_canonical_map(TEXTS)
    assert cmap[1] == cmap[2] == cmap[3]
    assert cmap[4] == cmap[5]
    assert cmap[6] == cmap[7] == cmap[8]
    assert cmap[9] == cmap[10]
    assert cmap[11] != cmap[12]  # two tokens of different partial UTF-8 bytes
    assert cmap[0] not in {cmap[i] for i in range(1, len(TEXTS))}


def test_primes_are_prime_distinct_and_above_the_base() -> None:
    cfg = tiny_cfg(table_size_per_head=1000, heads_per_order=8)
    h = NgramHasher(cfg, np.arange(cfg.d_vocab))
    primes = np.concatenate([h.primes(L) for L in cfg.engram_layers])
    assert len(primes) == len(cfg.engram_layers) * cfg.n_engram_heads
    assert len(set(primes.tolist())) == len(primes)
    assert all(is_prime(int(p)) and p >= 1000 for p in primes)
    assert next_primes(10, 3, set()) == [11, 13, 17]
    assert next_primes(10, 2, {11}) == [13, 17]
    assert [n for n in range(30) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


def test_addresses_stay_inside_their_head_slice() -> None:
    cfg = tiny_cfg()
    h = NgramHasher(cfg, np.arange(cfg.d_vocab))
    tokens = np.random.default_rng(0).integers(0, cfg.d_vocab, size=(8, 50))
    for layer in cfg.engram_layers:
        addr = h.addresses(tokens, layer)
        assert addr.shape == (8, 50, cfg.n_engram_heads)
        lo = h.offsets(layer)
        hi = lo + h.primes(layer)
        assert np.all(addr >= lo) and np.all(addr < hi)
        assert addr.max() < h.table_rows(layer)
        for row in np.unique(addr)[:20]:
            c = h.column_of_row(layer, int(row))
            assert c.offset <= row < c.offset + c.size


def test_case_and_whitespace_variants_share_addresses() -> None:
    h = hasher()
    # "<bos> Apple is" vs "<bos> APPLE is" vs "<bos> apple is"
    a = h.addresses(np.array([0, 1, 4]), 2)
    b = h.addresses(np.array([0, 3, 5]), 2)
    c = h.addresses(np.array([0, 2, 4]), 2)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    d = h.addresses(np.array([0, 9, 4]), 2)  # Café
    e = h.addresses(np.array([0, 10, 4]), 2)  # cafe
    assert np.array_equal(d, e)
    assert not np.array_equal(a, d)


def test_a_suffix_ngram_reads_the_same_rows_wherever_it_occurs() -> None:
    cfg = tiny_cfg(d_vocab=64)
    h = NgramHasher(cfg, np.arange(64))
    gram = [11, 12, 13]
    rng = np.random.default_rng(1)
    seq = rng.integers(20, 64, size=40)
    seq[5:8] = gram
    seq[30:33] = gram
    other = np.concatenate([rng.integers(20, 64, size=17), gram])
    for layer in cfg.engram_layers:
        a = h.addresses(seq, layer)
        b = h.addresses(other, layer)
        assert np.array_equal(a[7], a[32])
        assert np.array_equal(a[7], b[-1])
        # the 2-gram heads agree wherever the last two tokens agree, even if the third differs
        seq2 = seq.copy()
        seq2[30] = 14
        a2 = h.addresses(seq2, layer)
        n2 = cfg.heads_per_order
        assert np.array_equal(a2[32, :n2], a[7, :n2])
        assert not np.array_equal(a2[32, n2:], a[7, n2:])


def test_batched_and_single_hashing_agree() -> None:
    cfg = tiny_cfg()
    h = NgramHasher(cfg, np.arange(cfg.d_vocab))
    tokens = np.random.default_rng(2).integers(0, cfg.d_vocab, size=(4, 30))
    batched = h.addresses(tokens, 0)
    for i in range(4):
        assert np.array_equal(batched[i], h.addresses(tokens[i], 0))


def test_out_of_range_tokens_are_rejected() -> None:
    h = hasher()
    with pytest.raises(ValueError, match="out of range"):
        h.addresses(np.array([0, 99]), 0)


SCRIPT = """
import hashlib, numpy as np
from engram_probe.contracts.workbench import NgramHasher
from tests.helpers import tiny_cfg
cfg = tiny_cfg()
h = NgramHasher(cfg, np.arange(cfg.d_vocab) % 50)
tok = np.random.default_rng(7).integers(0, cfg.d_vocab, size=(3, 40))
print(hashlib.sha256(b"".join(h.addresses(tok, L).tobytes() for L in cfg.engram_layers)).hexdigest(), h.digest())
"""


def test_identical_in_a_fresh_process() -> None:
    cfg = tiny_cfg()
    h = NgramHasher(cfg, np.arange(cfg.d_vocab) % 50)
    tok = np.random.default_rng(7).integers(0, cfg.d_vocab, size=(3, 40))
    here = hashlib.sha256(b"".join(h.addresses(tok, L).tobytes() for L in cfg.engram_layers)).hexdigest()
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123"}
    )
    there, digest = out.stdout.split()
    assert there == here
    assert digest == h.digest()
    # every multiplier is odd and small enough that token id x multiplier stays below 2^63 (no wrap-around)
    m = np.concatenate([np.asarray(v) for v in h.multipliers.values()])
    assert (m % 2 == 1).all() and (m > 0).all()
    assert int(m.max()) * (int(h.compressed_map.max()) + 1) < 2**63


def test_the_workbench_normaliser_is_its_own_rule_not_deepseeks_and_the_shipped_map_depends_on_it() -> None:
    """The two normalisers differ by design; folding one into the other would change the shipped addresses."""
    from engram_probe.contracts.workbench_config import DEFAULT_MODEL_DIR
    from engram_probe.tokenizer import EngramTokenizer

    deepseek = token_normalizer()

    def key(text: str) -> str:  # the DeepSeek-style key: an empty normal form keeps the token's own text
        return deepseek.normalize_str(text) or text

    assert normalize_token_text("\x0b") == SPACE_SENTINEL and key("\x0b") == "\x0b"
    assert normalize_token_text("\u0301") == "" and key("\u0301") == "\u0301"
    texts = EngramTokenizer.load(DEFAULT_MODEL_DIR / "tokenizer.json").token_texts()
    ours = build_canonical_map(texts)
    keys: dict[str, int] = {}
    theirs = [keys.setdefault(key(t) if "\ufffd" not in t else f"id:{i}", len(keys)) for i, t in enumerate(texts)]
    assert len(set(ours.tolist())) != len(keys)  # the shipped tokenizer has tokens the two rules group differently
    assert ours.tolist() != theirs
