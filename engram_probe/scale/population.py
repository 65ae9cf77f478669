"""Row census at population scale: how often N users' edits land in the same table rows.

Synthetic users write ``facts`` facts each. A fact's trigger ends in three token ids drawn
uniformly from the contract's vocabulary (seeded per block of users), so two facts share an
n-gram only by chance: what this census measures is the hash side of "different users land in
disjoint slots". Real templates ("My dog's name is") share rows by content on top of that; the
per-overlay ``contract census`` shows those.

Each partition (a block of users) yields one record per (fact, table, column): the row read at
the trigger's last position, the user, a key of the n-gram's content, and a key of the value
written (content and answer). A Dask dataframe groupby on the row, with its shuffle on disk,
counts per row the writing users and whether their n-grams or values differ.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from engram_probe.contracts.base import AddressContract

TRIGGER_TOKENS = 3
LAYER_SHIFT = 40  # row key = table << 40 | row: every released table has fewer than 2**40 rows


def vocab_size(contract: AddressContract) -> int:
    """Token ids the synthetic triggers draw from: the tokenizer's, else the hash's input range."""
    tok = getattr(contract, "tokenizer", None)
    if tok is not None:
        size = tok.get_vocab_size() if hasattr(tok, "get_vocab_size") else tok.vocab_size
        return int(size)
    spec = contract.spec()
    for key in ("raw_vocab_size", "vocab_size", "compressed_vocab_size", "compressed_vocab"):
        if isinstance(spec.get(key), int):
            return int(spec[key])
    if isinstance(spec.get("eos_token_id"), int):  # ids up to EOS (Qwen's last regular-range id)
        return int(spec["eos_token_id"]) + 1
    raise ValueError(f"contract {contract.name}: cannot tell its vocabulary size; give its tokenizer")


def _mix(*parts: np.ndarray) -> np.ndarray:
    """A 63-bit mixing hash of int64 columns (splitmix64 finaliser over a running combination)."""
    with np.errstate(over="ignore"):
        x = np.zeros(parts[0].shape, dtype=np.uint64)
        for p in parts:
            x = (x ^ p.astype(np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
            x ^= x >> np.uint64(29)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(32)
    return (x >> np.uint64(1)).astype(np.int64)


def block_records(
    contract: AddressContract, first_user: int, n_users: int, facts: int, seed: int, tables: tuple[int, ...]
) -> pd.DataFrame:
    """The rows that users ``first_user .. first_user + n_users - 1`` write (one block, one partition)."""
    rng = np.random.default_rng([seed, first_user, n_users])
    vocab = vocab_size(contract)
    n = n_users * facts
    triggers = rng.integers(0, vocab, size=(n, TRIGGER_TOKENS), dtype=np.int64)
    answers = rng.integers(0, vocab, size=n, dtype=np.int64)
    users = np.repeat(np.arange(first_user, first_user + n_users, dtype=np.int64), facts)
    hashed = contract.hash_inputs(triggers)
    frames = []
    for layer in tables:
        rows = contract.addresses(triggers, layer)[:, -1, :]  # [n, cols]: rows read at the last position
        for col in contract.columns(layer):
            gram = [hashed[:, TRIGGER_TOKENS - 1 - s] for s in range(col.order)]
            content = _mix(np.full(n, col.order), *gram)
            frames.append(
                pd.DataFrame(
                    {
                        "key": (np.int64(layer) << np.int64(LAYER_SHIFT)) | rows[:, col.column],
                        "user": users,
                        "ngram": content,
                        "value": _mix(content, answers),
                    }
                )
            )
    df = pd.concat(frames, ignore_index=True)
    # one record per (row, user): within a user the later fact wins a shared row
    return df.drop_duplicates(["key", "user"], keep="last")


def _per_row(part: pd.DataFrame) -> pd.DataFrame:
    g = part.groupby("key", sort=False)
    return pd.DataFrame(
        {
            "users": g["user"].size(),
            "ngrams_differ": g["ngram"].min() != g["ngram"].max(),
            "values_differ": g["value"].min() != g["value"].max(),
        }
    )


def _summarise(rows: pd.DataFrame) -> pd.DataFrame:
    shared = rows["users"] >= 2
    return pd.DataFrame(
        {
            "rows_written": [len(rows)],
            "rows_shared": [int(shared.sum())],
            "shared_by_hash_collision": [int((shared & rows["ngrams_differ"]).sum())],
            "shared_by_content": [int((shared & ~rows["ngrams_differ"]).sum())],
            "conflicting_rows": [int((shared & rows["values_differ"]).sum())],
            "max_users_on_a_row": [int(rows["users"].max()) if len(rows) else 0],
            "user_writes_on_shared_rows": [int(rows.loc[shared, "users"].sum())],
        }
    )


def expected_shared_share(contract: AddressContract, tables: tuple[int, ...], writes_per_column: int) -> float:
    """Derived: the share of written rows that two or more writers hit, if every write picked a uniform row.

    Per column of size M with n writes: occupied M(1-(1-1/M)^n), shared M - M(1-1/M)^n - n(1-1/M)^(n-1)."""
    occupied = shared = 0.0
    n = float(writes_per_column)
    for layer in tables:
        for col in contract.columns(layer):
            m = float(col.size)
            empty = np.exp(n * np.log1p(-1.0 / m))
            one = n * np.exp((n - 1) * np.log1p(-1.0 / m)) / m
            occupied += m * (1 - empty)
            shared += m * (1 - empty - one)
    return shared / occupied if occupied else 0.0


def population_census(
    contract: AddressContract,
    users: int,
    facts: int = 100,
    seed: int = 0,
    tables: tuple[int, ...] | None = None,
    block_users: int = 2000,
    partitions_out: int | None = None,
) -> dict[str, Any]:
    """Census of ``users`` synthetic users x ``facts`` facts (runs on the current Dask scheduler)."""
    import dask
    import dask.dataframe as dd

    if users < 1 or facts < 1:
        raise ValueError("--users and --facts must be at least 1")
    tables = tuple(tables or contract.layers)
    for t in tables:
        contract.check_layer(t)
    blocks = [(s, min(block_users, users - s)) for s in range(0, users, block_users)]
    meta = pd.DataFrame({c: pd.Series(dtype="int64") for c in ("key", "user", "ngram", "value")})
    ddf = dd.from_map(
        lambda b: block_records(contract, b[0], b[1], facts, seed, tables), blocks, meta=meta, enforce_metadata=False
    )
    n_out = partitions_out or max(1, len(blocks))
    shuffled = ddf.shuffle("key", npartitions=n_out, shuffle_method="disk" if _local() else None)
    per_row_meta = pd.DataFrame({"users": pd.Series(dtype="int64"), "ngrams_differ": bool, "values_differ": bool})
    sums_meta = _summarise(per_row_meta.iloc[:0]).iloc[:0].astype("int64")
    parts = shuffled.map_partitions(_per_row, meta=per_row_meta).map_partitions(_summarise, meta=sums_meta)
    (totals,) = dask.compute(parts)
    s = {k: int(totals[k].max() if k == "max_users_on_a_row" else totals[k].sum()) for k in totals.columns}
    written = s["rows_written"]
    return {
        "contract": contract.reference(),
        "users": users,
        "facts_per_user": facts,
        "seed": seed,
        "tables": list(tables),
        "rows_per_table": {str(t): contract.table_rows(t) for t in tables},
        "writes": users * facts * sum(contract.n_columns(t) for t in tables),
        **s,
        "shared_share": s["rows_shared"] / written if written else 0.0,
        "conflicting_share": s["conflicting_rows"] / written if written else 0.0,
        "expected_shared_share_uniform": float(expected_shared_share(contract, tables, users * facts)),
        "generator": "synthetic triggers: 3 token ids uniform over the vocabulary, seeded per block of users",
        "measured_vs_derived": {
            "shared_share": "measured: rows written by two or more users / rows written, from the addresses",
            "expected_shared_share_uniform": "derived: the same share if each write picked a uniform row of its "
            "column (balls into bins); a check on the hashing, not a measurement",
        },
        "digest": hashlib.sha256(f"{contract.digest()}\0{users}\0{facts}\0{seed}\0{tables}".encode()).hexdigest(),
    }


def _local() -> bool:
    """True when no distributed client is active (the in-process scheduler: shuffle through disk)."""
    try:
        from distributed import default_client

        default_client()
    except (ImportError, ValueError):
        return True
    return False


def growth_report(
    contract: AddressContract,
    sizes: list[int],
    facts: int = 100,
    seed: int = 0,
    tables: tuple[int, ...] | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Censuses at each population size (ascending), with wall time and the process's peak memory."""
    import resource
    import time

    if not sizes or any(n < 1 for n in sizes):
        raise ValueError("give population sizes of at least 1, e.g. --users 1000,10000")
    steps = []
    for i, n in enumerate(sorted(set(sizes))):
        if progress:
            progress(i, len(sizes), f"{n:,} users")
        t0 = time.perf_counter()
        census = population_census(contract, n, facts, seed, tables)
        census["seconds"] = round(time.perf_counter() - t0, 3)
        census["peak_rss_mb_so_far"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        steps.append(census)
    if progress:
        progress(len(sizes), len(sizes), "done")
    return {"contract": contract.describe(), "facts_per_user": facts, "seed": seed, "sizes": steps}
