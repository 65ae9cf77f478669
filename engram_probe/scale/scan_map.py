"""The map step of a scan: one shard in, its :class:`ScanCounts` out (tokenise, address, look up).

Records of a batch are concatenated into one token array; a table's addresses are computed for
the whole array at once, then the positions whose n-gram would reach back across a record's
start are re-addressed with that record alone, so each record reads exactly as if it were hashed
by itself. Text files are one running sequence: each batch is hashed after the previous batch's
last tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np

from engram_probe.contracts.base import AddressContract, ContractError
from engram_probe.overlays.edited_rows import EditedRows
from engram_probe.scale.counts import ScanCounts, sample_keys
from engram_probe.scale.shards import Batch, Shard, ShardError, read_batches
from engram_probe.scale.token_ids import first_outside, id_limit, out_of_range


def lookback(contract: AddressContract) -> int:
    """Tokens before a position that its longest n-gram reads."""
    return max(c.order for L in contract.layers for c in contract.columns(L)) - 1


def _tokenise(contract: AddressContract, batch: Batch, first_of_file: bool, shard: Shard) -> list[np.ndarray]:
    if batch.ids is not None:
        return batch.ids
    assert batch.texts is not None
    try:
        if not batch.running:
            return contract.encode_batch(batch.texts, starts=True)
        head = contract.encode_batch(batch.texts[:1], starts=first_of_file)
        return head + contract.encode_batch(batch.texts[1:], starts=False) if len(batch.texts) > 1 else head
    except ContractError as exc:
        raise ShardError(shard.path, int(batch.lines[0]), str(exc), shard.unit) from exc


def _addresses(
    contract: AddressContract, layer: int, flat: np.ndarray, seq_starts: np.ndarray, back: int
) -> np.ndarray:
    """[cols, T] addresses of ``flat`` where every record (starting at ``seq_starts``) is hashed alone.

    Only a record's first ``back`` positions can read the record before it; those are re-addressed
    in one batched call per head length, each row holding one record's first tokens alone."""
    addr = contract.addresses_by_column(flat, layer)
    if back == 0 or seq_starts.size < 2:
        return addr
    starts = seq_starts[1:]
    lengths = np.diff(np.append(seq_starts, flat.size))[1:]
    heads = np.minimum(lengths, back)
    for h in np.unique(heads[heads > 0]).tolist():
        where = starts[heads == h][:, None] + np.arange(h)  # [records, h] positions in ``flat``
        addr[:, where] = contract.addresses_by_column(flat[where], layer)
    return addr


def _slot_candidates(slots: np.ndarray, keys: np.ndarray, k: int, n_slots: int) -> np.ndarray:
    """Hits that can be among some fact's k smallest keys: per slot, a superset of its k smallest.

    Every fact claiming a slot sees all of that slot's hits, so a fact's k smallest lie among its
    slots' k smallest. Keys are uniform, so per slot a threshold at about 4k/count of the key range
    keeps ~4k hits; a slot where fewer than k pass keeps all of its hits (the result stays exact).
    """
    count = np.bincount(slots, minlength=n_slots)
    share = np.minimum(1.0, 4.0 * k / np.maximum(count, 1))
    keep = keys.astype(np.float64) < share[slots] * float(1 << 63)
    short = np.bincount(slots[keep], minlength=n_slots) < np.minimum(count, k)
    return keep | short[slots]


class ShardScanner:
    """Scans shards against one index; built once per worker and reused for every shard."""

    def __init__(self, contract: AddressContract, index: EditedRows, examples: int = 5):
        self.contract, self.index, self.k = contract, index, examples
        self.back = lookback(contract)
        self.limit = id_limit(contract)

    def scan(self, shard: Shard, progress: Callable[[int], None] | None = None) -> ScanCounts:
        """The shard's counts (``progress`` gets the bytes read so far); raises :class:`ShardError` on a bad record."""
        idx = self.index
        out = ScanCounts(
            row_hits={L: np.zeros(t.rows.size, np.int64) for L, t in idx.tables.items()},
            fact_hits=np.zeros(len(idx.facts), np.int64),
            user_hits=np.zeros(len(idx.users), np.int64),
            shards=[shard.path],
        )
        tail = np.empty(0, np.int64)  # a text file's running look-back
        pos0 = 0  # a text file's token index of the batch's first token
        first = True
        for batch in read_batches(shard, self.limit):
            seqs = _tokenise(self.contract, batch, first, shard)
            lengths = np.fromiter((s.size for s in seqs), dtype=np.int64, count=len(seqs))
            if batch.running:
                ctx = tail
                flat = np.concatenate([ctx, *seqs]) if seqs else ctx
                starts = np.zeros(1, np.int64)
            else:
                ctx = np.empty(0, np.int64)
                flat = np.concatenate(seqs) if seqs else ctx
                starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            self._check_ids(flat[ctx.size :], lengths, batch, shard)
            n = int(lengths.sum())
            if n:
                try:
                    self._count(out, flat, starts, ctx.size, batch, lengths, pos0, shard)
                except ContractError as exc:  # e.g. an id outside the vocabulary: name the record
                    raise ShardError(shard.path, self._bad_line(seqs, batch), str(exc), shard.unit) from exc
            if batch.running:
                tail = flat[flat.size - min(self.back, flat.size) :] if self.back else tail
                pos0 += n
            out.tokens += n
            out.sequences += 0 if batch.running else len(seqs)
            first = False
            if progress:
                progress(batch.done_bytes)
        if shard.kind == "text" and out.tokens:
            out.sequences = 1
        return out

    def _check_ids(self, ids: np.ndarray, lengths: np.ndarray, batch: Batch, shard: Shard) -> None:
        """Refuse the batch's first id outside the contract's vocabulary (or below 0), naming its line or row."""
        i = first_outside(ids, self.limit)
        if i is None:
            return
        record = int(np.searchsorted(np.cumsum(lengths), i, side="right"))
        raise ShardError(shard.path, int(batch.lines[record]), out_of_range(int(ids[i]), self.limit), shard.unit)

    def _bad_line(self, seqs: list[np.ndarray], batch: Batch) -> int:
        """The line of the first record of a batch that the contract refuses."""
        for seq, line in zip(seqs, batch.lines.tolist(), strict=True):
            try:
                for layer in self.contract.layers:
                    self.contract.addresses_by_column(seq, layer)
            except ContractError:
                return int(line)
        return int(batch.lines[0])

    def _count(
        self,
        out: ScanCounts,
        flat: np.ndarray,
        starts: np.ndarray,
        skip: int,
        batch: Batch,
        lengths: np.ndarray,
        pos0: int,
        shard: Shard,
    ) -> None:
        idx = self.index
        # scan() starts both as zero arrays; they are added to in place
        fact_hits, user_hits = cast(np.ndarray, out.fact_hits), cast(np.ndarray, out.user_hits)
        n = flat.size - skip
        any_hit = np.zeros(n, dtype=bool)
        record = np.repeat(np.arange(lengths.size), lengths)  # record of each token
        first_token = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        for layer, table in idx.tables.items():
            if table.rows.size == 0:
                continue
            addr = _addresses(self.contract, layer, flat, starts, self.back)[:, skip:]
            slots = table.slots(addr)  # [cols, T]
            hit = slots >= 0
            if not hit.any():
                continue
            any_hit |= hit.any(axis=0)
            c, t = np.nonzero(hit)
            s = slots[c, t]
            per_slot = np.bincount(s, minlength=table.rows.size)
            out.row_hits[layer] += per_slot
            by_fact = np.bincount(table.fact_of, weights=per_slot[table.fact_slot], minlength=len(idx.facts))
            by_user = np.bincount(table.user_of, weights=per_slot[table.user_slot], minlength=len(idx.users))
            fact_hits += by_fact.astype(np.int64)
            user_hits += by_user.astype(np.int64)
            if self.k:
                self._sample(out, table, layer, t, c, s, record, first_token, batch, pos0, shard)
        out.positions_hit += int(any_hit.sum())

    def _sample(self, out, table, layer, t, c, s, record, first_token, batch, pos0, shard) -> None:  # noqa: ANN001
        """Keep, per fact, the k hits with the smallest sampling keys."""
        rec = record[t]
        lines = batch.lines[rec]
        pos = t + pos0 if batch.running else t - first_token[rec]
        keys = sample_keys(shard.seed(), lines, pos, layer, c)
        keep = _slot_candidates(s, keys, self.k, table.rows.size)
        c, s, keys, lines, pos = c[keep], s[keep], keys[keep], lines[keep], pos[keep]
        # expand each hit to the facts that claim its row: claims sorted by slot
        cs, cf = table.fact_slot, table.fact_of  # sorted by slot (np.unique over (slot, fact) pairs)
        lo, hi = np.searchsorted(cs, s, "left"), np.searchsorted(cs, s, "right")
        reps = hi - lo
        if not reps.any():
            return
        hit_of = np.repeat(np.arange(s.size), reps)
        within = np.arange(hit_of.size) - np.repeat(np.cumsum(reps) - reps, reps)
        claim = lo[hit_of] + within
        fact = cf[claim]
        pick = np.lexsort((keys[hit_of], fact))
        fact, hit_of = fact[pick], hit_of[pick]
        group_start = np.flatnonzero(np.r_[True, fact[1:] != fact[:-1]])
        rank = np.arange(fact.size) - np.repeat(group_start, np.diff(np.r_[group_start, fact.size]))
        name = shard.path.rsplit("/", 1)[-1]
        rows = table.rows
        for f, h in zip(fact[rank < self.k].tolist(), hit_of[rank < self.k].tolist(), strict=True):
            ex = (int(keys[h]), name, int(lines[h]), int(pos[h]), layer, int(c[h]), int(rows[s[h]]))
            cur = out.examples.setdefault(f, [])
            cur.append(ex)
        for f in set(fact[rank < self.k].tolist()):
            out.examples[f] = sorted(out.examples[f])[: self.k]
