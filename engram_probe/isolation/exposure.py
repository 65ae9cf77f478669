"""Exposure at population scale (hash only): how many of one user's requests read a row another user wrote.

The population is the census's (:func:`engram_probe.scale.population.block_records`): N synthetic users x F
facts, each trigger three token ids drawn uniformly, in blocks of users that are Dask partitions. The probe
users are ``probes`` more users outside the population, one request each (its trigger's last position), drawn by
the same generator. A probe position is **exposed** when any of its reads (every column of every table in scope)
lands on a row some population user writes; **by content** when that user's n-gram there is the probe's own
(the same text), else by hash collision. Salted (``salted=True``): every user, probes included, reads and writes
at its own salt (``contracts.base.user_salt`` of ``"user-<index>"``), as a deployment that salts per user would.

Measured: each population partition is joined with the probe rows (a broadcast join, no shuffle), on whatever
Dask scheduler is current (in-process threads, or a cluster), so the counts are the same wherever it runs.

Derived (the uniform-hash model): a column of R rows that others write n = N x F times holds
W = R (1 - (1 - 1/R)^n) distinct written rows; a read misses them all with chance 1 - W/R = (1 - 1/R)^n, and a
position, reading one row in each column c, is exposed with chance 1 - prod_c (1 - 1/R_c)^n. The model has no
shared content, so it is what salting gives; without salting, content shared by chance adds to the measured
figure (reported beside it as ``exposed_by_content``).
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from engram_probe.contracts.base import AddressContract, user_salts
from engram_probe.scale.population import block_records

RULE = (
    "a probe request is exposed when any of its reads (one row per column of every table) is a row one of the "
    "N population users writes; by content when that user's n-gram at the row is the probe's own, else by "
    "hash collision"
)
DERIVED_RULE = (
    "uniform-hash model: with R rows in a column and n = N x F writes by the others, W = R(1-(1-1/R)^n) rows "
    "are written; a read misses them with chance 1-W/R = (1-1/R)^n; a request is exposed with chance "
    "1 - prod over columns of (1-1/R)^n"
)
SALT_RULE = "each user reads and writes at user_salt('user-<index>'): SHA-256 of the id, first 8 bytes, 63 bits"


def salted_block(contract: AddressContract, first_user: int, n_users: int, facts: int) -> AddressContract:
    """The contract as the users of one block read it: one salt per user, repeated for each of its facts."""
    salts = user_salts([f"user-{u}" for u in range(first_user, first_user + n_users)])
    return contract.salted(np.repeat(salts, facts)[:, None])


def _records(
    contract: AddressContract, block: tuple[int, int], facts: int, seed: int, tables: tuple[int, ...], salted: bool
) -> pd.DataFrame:
    first, n = block
    view = salted_block(contract, first, n, facts) if salted else contract
    return block_records(view, first, n, facts, seed, tables)[["key", "user", "ngram"]]


def _matches(part: pd.DataFrame, probe: pd.DataFrame) -> pd.DataFrame:
    """Per probe read that lands on a row of this partition: the probe, its key, and whether the content is its own."""
    hit = part.merge(probe, on="key", suffixes=("_other", ""))
    return pd.DataFrame(
        {"user": hit["user"], "key": hit["key"], "content": hit["ngram_other"] == hit["ngram"]}
    ).drop_duplicates()


def derived_exposure(contract: AddressContract, tables: tuple[int, ...], writes_per_column: int) -> dict[str, float]:
    """The uniform-hash model's share of requests exposed and of reads exposed (see the module docstring)."""
    n = float(writes_per_column)
    log_miss = [n * math.log1p(-1.0 / c.size) for t in tables for c in contract.columns(t)]
    return {
        "requests": 1.0 - math.exp(sum(log_miss)),
        "reads": float(np.mean([1.0 - math.exp(x) for x in log_miss])) if log_miss else 0.0,
    }


def exposure(
    contract: AddressContract,
    users: int,
    facts: int = 100,
    probes: int = 1000,
    salted: bool = False,
    seed: int = 0,
    tables: tuple[int, ...] | None = None,
    block_users: int = 2000,
) -> dict[str, Any]:
    """Measured and derived exposure of ``probes`` requests to ``users`` x ``facts`` (current Dask scheduler)."""
    import dask
    import dask.dataframe as dd

    if users < 1 or facts < 1 or probes < 1:
        raise ValueError("users, facts per user and probe requests must each be at least 1")
    tables = tuple(tables or contract.layers)
    for t in tables:
        contract.check_layer(t)
    if salted:
        contract.salted(1)  # refused here, naming the contract, where it cannot be salted
    t0 = time.perf_counter()
    probe = _records(contract, (users, probes), 1, seed, tables, salted)  # one request per probe user
    blocks = [(s, min(block_users, users - s)) for s in range(0, users, block_users)]
    meta = pd.DataFrame({c: pd.Series(dtype="int64") for c in ("key", "user", "ngram")})
    ddf = dd.from_map(lambda b: _records(contract, b, facts, seed, tables, salted), blocks, meta=meta)
    hit_meta = pd.DataFrame({"user": pd.Series(dtype="int64"), "key": pd.Series(dtype="int64"), "content": bool})
    (hits,) = dask.compute(ddf.map_partitions(_matches, probe, meta=hit_meta))
    seconds = time.perf_counter() - t0
    reads = hits.drop_duplicates(["user", "key"])
    exposed = reads["user"].nunique()
    by_content = hits.loc[hits["content"], "user"].nunique()
    columns = sum(contract.n_columns(t) for t in tables)
    derived = derived_exposure(contract, tables, users * facts)
    return {
        "contract": contract.reference(),
        "users": users,
        "facts_per_user": facts,
        "probe_requests": probes,
        "salted": salted,
        "seed": seed,
        "tables": list(tables),
        "columns": columns,
        "rows_per_table": {str(t): contract.table_rows(t) for t in tables},
        "writes_per_column": users * facts,
        "exposed_requests": int(exposed),
        "exposed_by_content": int(by_content),
        "exposed_by_collision_only": int(exposed - by_content),
        "exposed_share": exposed / probes,
        "exposed_by_content_share": by_content / probes,
        "exposed_reads_share": len(reads) / (probes * columns) if columns else 0.0,
        "derived_exposed_share": derived["requests"],
        "derived_exposed_reads_share": derived["reads"],
        "positions": users * facts + probes,
        "seconds": round(seconds, 3),
        "measured_vs_derived": {
            "exposed_share": "measured: " + RULE,
            "derived_exposed_share": "derived: " + DERIVED_RULE,
        },
        "digest": hashlib.sha256(
            f"exposure/1\0{contract.digest()}\0{users}\0{facts}\0{probes}\0{salted}\0{seed}\0{tables}".encode()
        ).hexdigest(),
    }


def exposure_curve(
    contract: AddressContract,
    sizes: list[int],
    facts: int = 100,
    probes: int = 1000,
    salted: bool = False,
    seed: int = 0,
    tables: tuple[int, ...] | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """:func:`exposure` at each population size (ascending)."""
    if not sizes or any(n < 1 for n in sizes):
        raise ValueError("give population sizes of at least 1, e.g. 100,1000")
    steps = []
    ordered = sorted(set(sizes))
    for i, n in enumerate(ordered):
        if progress:
            progress(i, len(ordered), f"{n:,} users")
        steps.append(exposure(contract, n, facts, probes, salted, seed, tables))
    if progress:
        progress(len(ordered), len(ordered), "done")
    return {
        "contract": contract.describe(),
        "facts_per_user": facts,
        "probe_requests": probes,
        "salted": salted,
        "seed": seed,
        "rule": RULE,
        "derived_rule": DERIVED_RULE,
        "salt_rule": SALT_RULE if salted else None,
        "sizes": steps,
    }
