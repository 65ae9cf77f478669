"""engraft-ngram's ``.pleo`` overlay: little-endian ``PLEO``, u32 n, u32 dim, n int32 rows, n·dim float32.

The file carries rows and values only. Facts (triggers) come from a sidecar JSON beside it
(``NAME.pleo.facts.json``) or from ``--facts``; without them the census still counts rows and
conflicts, but cannot say which fact owns a row.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.overlays.rowset import OverlayFileError, OverlayRows, normalise_rows

MAGIC = b"PLEO"
HEADER = struct.Struct("<4sII")
FORMAT = "pleo"


def read_pleo(path: str | Path, contract: AddressContract, user: str | None = None) -> OverlayRows:
    """Parse and validate a ``.pleo`` file completely before returning anything."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise OverlayFileError(f"cannot read {p}: {exc}") from exc
    if len(data) < HEADER.size:
        raise OverlayFileError(f"{p.name}: truncated: {len(data)} bytes, shorter than the 12-byte header")
    magic, n, dim = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise OverlayFileError(f"{p.name}: wrong magic {magic!r}, a .pleo file starts with {MAGIC!r}")
    want = HEADER.size + 4 * n + 4 * n * dim
    if len(data) < want:
        raise OverlayFileError(
            f"{p.name}: truncated: the header promises {n} rows of {dim} values ({want} bytes), "
            f"the file has {len(data)}"
        )
    if len(data) > want:
        raise OverlayFileError(f"{p.name}: {len(data) - want} unexpected bytes after {n} rows of {dim} values")
    if dim != contract.row_format.dim:
        raise OverlayFileError(f"{p.name}: wrong dim {dim}; {contract.name} rows have {contract.row_format.dim} values")
    rows = np.frombuffer(data, dtype="<i4", count=n, offset=HEADER.size).astype(np.int64)
    values = np.frombuffer(data, dtype="<f4", count=n * dim, offset=HEADER.size + 4 * n).reshape(n, dim)
    layer = contract.layers[0]
    rows, values, dups = normalise_rows(contract, layer, rows, values, p.name)
    notes = [f"{dups} identical duplicate rows dropped"] if dups else []
    return OverlayRows(user or p.stem, str(p), FORMAT, {layer: (rows, values)} if len(rows) else {}, notes=notes)


def write_pleo(overlay: OverlayRows, path: str | Path, contract: AddressContract) -> Path:
    """Write the overlay's single table as a ``.pleo`` (rows ascending), atomically."""
    if set(overlay.layers) - {contract.layers[0]}:
        raise OverlayFileError(f".pleo holds {contract.name}'s one table; this overlay writes {sorted(overlay.layers)}")
    dim = contract.row_format.dim
    rows, values = overlay.layers.get(contract.layers[0], (np.empty(0, np.int64), np.empty((0, dim), np.float32)))
    if rows.size and int(rows.max()) >= 2**31:
        raise OverlayFileError(".pleo stores row ids as int32; a row is above 2^31-1")
    body = HEADER.pack(MAGIC, len(rows), dim) + rows.astype("<i4").tobytes() + values.astype("<f4").tobytes()
    return atomic_write(Path(path), body)


def atomic_write(path: Path, body: bytes) -> Path:
    """Write to a temporary file beside ``path`` and rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
