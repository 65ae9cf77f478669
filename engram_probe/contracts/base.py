"""The address-contract interface: token ids in, table rows out, nothing else.

A contract is everything a model's Engram lookup needs to turn token ids into row reads:
the token compression, multipliers, moduli, column order and offsets. It needs no weights.
Every contract has a canonical JSON form and a SHA-256 digest of it, which reports record.

Salting (the paper's per-user salt): a contract whose hash is a multiply-XOR mix has salted views,
``contract.salted(salt)``, whose addresses XOR ``salt`` into every order's mix before the modulo;
salt 0 is the contract itself (the pretrained address space). A user's salt is :func:`user_salt`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from jaxtyping import Int


class ContractError(ValueError):
    """A contract, config or tokenizer that cannot be used; the message names the field."""


RowKey = tuple[int, int]  # (layer, row): one row of one Engram table

SALT_LIMIT = 2**63  # salts are 0 .. 2^63 - 1 (see user_salt)
Salt = int | np.ndarray  # one salt, or one per sequence (an int64 array broadcast against [..., T])


def user_salt(user_id: str) -> int:
    """A user's salt: the first 8 bytes of SHA-256 of the UTF-8 id, big-endian, masked to the low 63 bits
    (a result of 0 becomes 1, so that no user reads the pretrained address space).

    Why 63 bits: every product ``c * mult`` of the multiply-XOR family is below 2^63 (the multipliers are
    drawn below ``int64_max // compressed_vocab``), so the XOR of products has bit 63 clear; a salt below 2^63
    keeps the salted mix a non-negative int64, and ``mix % prime`` stays the mathematical remainder. The
    uint64 PLE mix takes any 64-bit salt; the same 63-bit salt keeps one rule for every contract."""
    if not isinstance(user_id, str) or not user_id:
        raise ContractError("a user id must be non-empty text to derive its salt")
    raw = int.from_bytes(hashlib.sha256(user_id.encode("utf-8")).digest()[:8], "big") & (SALT_LIMIT - 1)
    return raw or 1


def user_salts(user_ids: Sequence[str]) -> np.ndarray:
    """:func:`user_salt` of each id, as int64."""
    return np.fromiter((user_salt(u) for u in user_ids), dtype=np.int64, count=len(user_ids))


@dataclass(frozen=True)
class Column:
    """One hash column (an (order, head) pair) of one table."""

    layer: int
    column: int
    order: int
    head: int
    size: int  # the modulus: rows in this column's slice of the table
    offset: int  # where the slice starts in the layer's table

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class RowFormat:
    """How one row is stored by the engines that serve the model."""

    dim: int
    bytes_per_row: int
    encoding: str  # e.g. "float32", "fp8-e4m3 + ue8m0 scale per 32 values", "IQ4_NL"
    alternatives: tuple[tuple[str, int], ...] = ()  # other encodings: (name, bytes per row)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "bytes_per_row": self.bytes_per_row,
            "encoding": self.encoding,
            "alternatives": [{"encoding": n, "bytes_per_row": b} for n, b in self.alternatives],
        }


@dataclass(frozen=True)
class Check:
    """One self-consistency check of a contract against its released config."""

    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def token_array(token_ids: Any) -> np.ndarray:
    """Token ids as int64; an id beyond the 64-bit range is refused (numpy would raise an overflow)."""
    if isinstance(token_ids, np.ndarray) and token_ids.dtype == np.int64:
        return token_ids
    try:
        return np.asarray(token_ids, dtype=np.int64)
    except OverflowError as exc:
        raise ContractError("token ids must be integers from 0 to 2^63-1; one is beyond that range") from exc


def unknown_token_id(tok: Any) -> int | None:
    """The id a ``tokenizers`` tokenizer gives a word it cannot encode (word-level, WordPiece, BPE or Unigram models
    that have one), or None when every text has tokens of its own (byte-level models)."""
    model = getattr(tok, "model", None)
    unk = getattr(model, "unk_token", None)
    if isinstance(unk, str) and unk:
        found = tok.token_to_id(unk)
        return int(found) if found is not None else None
    unk_id = getattr(model, "unk_id", None)
    return int(unk_id) if isinstance(unk_id, int) else None


def canonical_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def array_digest(a: np.ndarray) -> str:
    """SHA-256 of an int64 little-endian array (how compressed maps enter a contract's JSON)."""
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<i8").tobytes()).hexdigest()


class AddressContract(ABC):
    """Token ids -> row indices of one model's Engram tables (vectorised numpy)."""

    name: str
    version: str
    layers: tuple[int, ...]
    row_format: RowFormat
    source: str  # where the constants came from (a preset, or the files the user gave)
    salt: Salt = 0  # XORed into every mix before the modulo (0: the contract's own addresses)
    salt_rule: str | None = None  # how a family applies a salt; None: the contract cannot be salted

    # --------------------------------------------------------------- structure
    @abstractmethod
    def columns(self, layer: int) -> list[Column]:
        """The layer's columns in column order."""

    def table_rows(self, layer: int) -> int:
        """Rows of the layer's table that any address can reach."""
        last = self.columns(layer)[-1]
        return last.offset + last.size

    def n_columns(self, layer: int) -> int:
        return len(self.columns(layer))

    def column_of_row(self, layer: int, row: int) -> Column:
        """The column whose slice of the table holds ``row``; raises on a row outside the table."""
        cols = self.columns(layer)
        cache = self.__dict__.setdefault("_column_starts", {})
        if layer not in cache:
            cache[layer] = np.array([c.offset for c in cols], dtype=np.int64)
        idx = int(np.searchsorted(cache[layer], row, side="right")) - 1
        if idx < 0 or not 0 <= row - cols[idx].offset < cols[idx].size:
            raise ContractError(f"row {row} is outside layer {layer}'s table (0..{self.table_rows(layer) - 1})")
        return cols[idx]

    def check_layer(self, layer: int) -> None:
        if layer not in self.layers:
            raise ContractError(
                f"layer {layer} is not an Engram layer of {self.name}; its layers are {list(self.layers)}"
            )

    # --------------------------------------------------------------- addressing
    @abstractmethod
    def addresses_by_column(self, token_ids: np.ndarray, layer: int) -> Int[np.ndarray, "cols *batch pos"]:
        """Row indices (local + offset), column-major: each column's slice contiguous."""

    def addresses(self, token_ids: np.ndarray, layer: int) -> Int[np.ndarray, "*batch pos cols"]:
        """Row indices read at every position: [..., T, n_columns] (int64, C-contiguous)."""
        return np.ascontiguousarray(np.moveaxis(self.addresses_by_column(token_ids, layer), 0, -1))

    def ngram_at(self, token_ids: Sequence[int] | np.ndarray, position: int, order: int) -> tuple[int, ...]:
        """The (hashed) n-gram that a column of ``order`` reads at ``position``, newest token first."""
        return self.ngram_from(self.hash_inputs(token_array(token_ids)), position, order)

    def ngram_from(self, hashed: np.ndarray, position: int, order: int) -> tuple[int, ...]:
        """As :meth:`ngram_at`, from ids already passed through :meth:`hash_inputs` (hash them once per sequence)."""
        return tuple(int(hashed[position - s]) if position - s >= 0 else -1 for s in range(order))

    def hash_inputs(self, token_ids: np.ndarray) -> np.ndarray:
        """The ids the hash sees (after any compression); identity unless overridden."""
        return token_array(token_ids)

    # --------------------------------------------------------------- salting
    def salted(self, salt: Salt) -> AddressContract:
        """This contract with ``salt`` XORed into every mix before the modulo (see :func:`user_salt`).

        ``salt`` is an int in 0..2^63-1 (0: this contract itself, bit-identical addresses), or an int64 array of
        such salts, one per sequence, broadcast against the token ids' [..., T] (e.g. shape [batch, 1]). Refused
        for a contract whose hash is not a multiply-XOR mix."""
        if self.salt_rule is None:
            raise ContractError(
                f"contract {self.name} cannot be salted: salting XORs a salt into a multiply-XOR mix, "
                f"and {self.name}'s addresses are not one"
            )
        if isinstance(salt, np.ndarray):
            if salt.dtype.kind not in "iu" or (salt.size and (int(salt.min()) < 0 or int(salt.max()) >= SALT_LIMIT)):
                raise ContractError(f"{self.name}: per-sequence salts must be integers from 0 to 2^63-1")
            value: Salt = salt.astype(np.int64)
        else:
            if isinstance(salt, bool) or not isinstance(salt, int | np.integer) or not 0 <= int(salt) < SALT_LIMIT:
                raise ContractError(f"{self.name}: a salt must be an integer from 0 to 2^63-1, got {salt!r}")
            value = int(salt)
            if value == 0:
                return self
        view = copy.copy(self)
        view.salt = value
        return view

    @property
    def is_salted(self) -> bool:
        return isinstance(self.salt, np.ndarray) or self.salt != 0

    def salt_json(self) -> Any:
        """How the salt enters the JSON form: the int, or the per-sequence array by count and digest."""
        if isinstance(self.salt, np.ndarray):
            return {"per_sequence": int(self.salt.size), "sha256": array_digest(self.salt.ravel())}
        return int(self.salt)

    # --------------------------------------------------------------- text
    def _needed_tokenizer(self) -> Any:
        """The contract's tokenizer; refuses when it has none."""
        tok = getattr(self, "tokenizer", None)
        if tok is None:
            raise ContractError(
                f"contract {self.name} has no tokenizer: give --tokenizer FILE (the model's tokenizer.json) "
                "to address text, or pass token ids"
            )
        return tok

    def encode(self, text: str) -> list[int]:
        """Token ids of a text; needs the model's tokenizer. A word it has no token for is refused, naming the word
        (a word-level tokenizer would otherwise read it silently as its unknown-token stand-in, another token)."""
        tok = self._needed_tokenizer()
        enc = tok.encode(text, add_special_tokens=False)
        unknown = unknown_token_id(tok)
        if unknown is not None and unknown in enc.ids:
            for tid, (a, b), piece in zip(enc.ids, enc.offsets, enc.tokens, strict=True):
                word = text[a:b]
                shown = tok.normalizer.normalize_str(word) if tok.normalizer is not None else word
                if tid == unknown and shown != piece:
                    raise ContractError(
                        f"the {self.name} tokenizer has no token for the word {word!r} (at character {a:,} of the "
                        f"text); it would be read as {piece!r}, another token. Leave the word out or give its token ids"
                    )
        return list(enc.ids)

    def encode_batch(self, texts: list[str], starts: bool = True) -> list[np.ndarray]:
        """Token ids of many texts at once (the tokenizer's parallel batch path), as int64 arrays.

        ``starts`` says whether each text begins a sequence; contracts whose model adds a
        start-of-sequence token (the workbench's BOS) add it only then.
        """
        tok = self._needed_tokenizer()
        del starts  # the released contracts' tokenizers add nothing at a sequence start
        return [np.asarray(e.ids, dtype=np.int64) for e in tok.encode_batch_fast(texts, add_special_tokens=False)]

    def token_strings(self, token_ids: Sequence[int]) -> list[str]:
        """Readable text of each token id (the id itself when there is no tokenizer)."""
        tok = getattr(self, "tokenizer", None)
        if tok is None:
            return [f"#{int(t)}" for t in token_ids]
        return [tok.id_to_token(int(t)) or f"#{int(t)}" for t in token_ids]

    # --------------------------------------------------------------- identity
    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """Every constant that determines addresses (JSON-ready; large maps by digest)."""

    def checks(self) -> list[Check]:
        """Self-consistency checks (all must hold for the contract to be built)."""
        return []

    def to_json(self) -> dict[str, Any]:
        """Canonical JSON form: name, version, constants, tables and row format."""
        out = {
            "name": self.name,
            "version": self.version,
            "spec": self.spec(),
            "tables": {
                str(layer): {"rows": self.table_rows(layer), "columns": [c.as_dict() for c in self.columns(layer)]}
                for layer in self.layers
            },
            "row_format": self.row_format.as_dict(),
        }
        if self.is_salted:  # an unsalted contract keeps the JSON (and digest) it always had
            out["salt"] = {"value": self.salt_json(), "rule": self.salt_rule}
        return out

    def digest(self) -> str:
        """SHA-256 of the canonical JSON (sorted keys, no whitespace, UTF-8)."""
        return hashlib.sha256(canonical_bytes(self.to_json())).hexdigest()

    def describe(self) -> dict[str, Any]:
        """The JSON form plus digest, source and checks: what ``contract show`` prints."""
        return {
            "contract": self.to_json(),
            "sha256": self.digest(),
            "source": self.source,
            "checks": [c.as_dict() for c in self.checks()],
            "has_tokenizer": getattr(self, "tokenizer", None) is not None,
        }

    def reference(self) -> dict[str, str]:
        """What every report records about the contract."""
        return {"name": self.name, "version": self.version, "sha256": self.digest(), "source": self.source}
