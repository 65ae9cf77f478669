"""The overlay formats this project reads, in one place: how each is recognised, read and (where it can be) written.

A format registers an :class:`OverlayFormat`. :func:`detect` asks each registered format, in registration order,
whether a file is one of its own; the CLI help, the web UI's upload hint and the format table of
docs/production-models.md are generated from the registry (:func:`formats_help`, :func:`formats_table`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engram_probe.contracts.base import AddressContract
from engram_probe.memory.signed_file import SignedFileError, check_unchanged
from engram_probe.overlays import pleo
from engram_probe.overlays.rowset import V41_FORMAT, OverlayFileError, OverlayRows
from engram_probe.overlays.workbench_export import WORKBENCH_FORMAT, read_workbench_memory
from engram_probe.safetensors_io import UnreadableSafetensors, read_metadata

HEAD_BYTES = 16  # what a sniff sees of the file's start

Sniff = Callable[[Path, bytes], bool]
Reader = Callable[[Path, AddressContract, "str | None"], OverlayRows]
Writer = Callable[[OverlayRows, Path, AddressContract], Path]


@dataclass(frozen=True)
class OverlayFormat:
    """One overlay file format: what it is called, what it looks like, and how to recognise, read and write it."""

    name: str  # the format id files carry (and ``OverlayRows.format``)
    label: str  # a few words for help text, e.g. "V4.1 row-override .safetensors"
    looks_like: str  # one plain sentence: how to tell a file of this format
    suffixes: tuple[str, ...]
    sniff: Sniff  # (path, the file's first HEAD_BYTES bytes) -> is it this format
    read: Reader  # validates the whole file before returning
    write: Writer | None = None  # None: this project does not write it from an overlay
    written_by: str = ""  # who writes files of this format
    contracts: tuple[str, ...] | None = None  # the contracts it applies to; None: any contract


_FORMATS: dict[str, OverlayFormat] = {}


def register(fmt: OverlayFormat) -> OverlayFormat:
    """Add a format; refused when one of the same name is registered."""
    if fmt.name in _FORMATS:
        raise ValueError(f"an overlay format named {fmt.name!r} is already registered")
    _FORMATS[fmt.name] = fmt
    return fmt


def registered() -> tuple[OverlayFormat, ...]:
    """Every registered format, in the order detection asks them."""
    return tuple(_FORMATS.values())


def get_format(name: str) -> OverlayFormat:
    """The registered format of this name; refused, naming the known ones, otherwise."""
    if name not in _FORMATS:
        raise OverlayFileError(f"unknown overlay format {name!r}; known: {', '.join(_FORMATS)}")
    return _FORMATS[name]


def file_head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def detect(path: str | Path) -> OverlayFormat | None:
    """The first registered format that recognises the file, or None."""
    p = Path(path)
    head = file_head(p)
    return next((f for f in _FORMATS.values() if f.sniff(p, head)), None)


def known_formats() -> str:
    """One line: each registered format and what it looks like."""
    return "overlay files read here: " + "; ".join(f"{f.label} ({f.looks_like})" for f in _FORMATS.values())


def unrecognised(path: Path) -> OverlayFileError:
    """Why a file is no registered format, with the list of formats."""
    try:
        fmt = read_metadata(path).get("format")
    except UnreadableSafetensors as exc:
        reason = f"not a readable safetensors file, or truncated ({exc})"
        return OverlayFileError(f"{path.name}: {reason}; {known_formats()}")
    return OverlayFileError(f"{path.name}: unknown overlay format {fmt!r}; {known_formats()}")


def read_rows(
    path: str | Path, contract: AddressContract, user: str | None = None
) -> tuple[OverlayRows, OverlayFormat]:
    """Recognise the file, read it whole under ``contract``, and say which format it was."""
    p = Path(path)
    if not p.is_file():
        raise OverlayFileError(f"no overlay file at {p}")
    try:
        check_unchanged(p)  # a signature beside it lists the bytes that were signed
    except SignedFileError as exc:
        raise OverlayFileError(str(exc)) from exc
    fmt = detect(p)
    if fmt is None:
        raise unrecognised(p)
    return fmt.read(p, contract, user), fmt


def formats_help(markdown: bool = False) -> str:
    """The formats as one phrase for a command-line help or (``markdown``: suffixes as code) an upload hint."""
    labels = [f.label for f in _FORMATS.values()]
    if markdown:
        labels = [" ".join(f"`{w}`" if w in f.suffixes else w for w in f.label.split()) for f in _FORMATS.values()]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def formats_table() -> str:
    """The markdown table of docs/production-models.md's overlay formats section."""
    lines = [
        "| format | what it looks like | suffixes | contracts | written by | written here |",
        "|---|---|---|---|---|---|",
    ]
    for f in _FORMATS.values():
        contracts = "any" if f.contracts is None else ", ".join(f"`{c}`" for c in f.contracts)
        suffixes = ", ".join(f"`{s}`" for s in f.suffixes)
        writes = "yes" if f.write is not None else "no"
        cells = [f"{f.label} (`{f.name}`)", f.looks_like, suffixes, contracts, f.written_by, writes]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the shipped formats
def _safetensors_sniff(name: str) -> Sniff:
    def sniff(path: Path, _head: bytes) -> bool:  # the format is in the metadata, beyond the first bytes
        try:
            return bool(read_metadata(path).get("format") == name)
        except UnreadableSafetensors:
            return False

    return sniff


def _read_v41(path: Path, contract: AddressContract, user: str | None) -> OverlayRows:
    from engram_probe.overlays.v41_rows import read_v41_rows  # imports torch: only when needed

    return read_v41_rows(path, contract, user)


def _write_v41(overlay: OverlayRows, path: Path, contract: AddressContract) -> Path:
    from engram_probe.overlays.v41_rows import write_v41_rows

    # FP8 blocks are 32 values wide: narrower rows (the workbench's 16) are written as float32
    encoding = "fp8" if contract.row_format.dim % 32 == 0 else "float32"
    return write_v41_rows(overlay, path, contract, encoding)


register(
    OverlayFormat(
        name=pleo.FORMAT,
        label=".pleo",
        looks_like="starts with the bytes PLEO, then the row count and width, int32 row ids and float32 values "
        "of one table; rows only, its facts in NAME.pleo.facts.json beside it",
        suffixes=(".pleo",),
        # as before the registry: the magic, or the suffix (a damaged .pleo is then told what is wrong with it)
        sniff=lambda path, head: head[:4] == pleo.MAGIC or path.suffix == ".pleo",
        read=pleo.read_pleo,
        write=pleo.write_pleo,
        written_by="engraft-ngram (for Qwen3.8-Flash-Next)",
    )
)
register(
    OverlayFormat(
        name=V41_FORMAT,
        label="V4.1 row-override .safetensors",
        looks_like=f"a safetensors file whose metadata format is {V41_FORMAT}: per table L, layers.L.engram.rows "
        "and layers.L.engram.embed.weight (float32, or FP8 e4m3 with UE8M0 scales), with the user, the contract "
        "digest and the facts",
        suffixes=(".safetensors",),
        sniff=_safetensors_sniff(V41_FORMAT),
        read=_read_v41,
        write=_write_v41,
        written_by="DeepSeek-V4.1 row-override tools",
    )
)
register(
    OverlayFormat(
        name=WORKBENCH_FORMAT,
        label="workbench memory export",
        looks_like=f"a safetensors file whose metadata format is {WORKBENCH_FORMAT}: per fact its (layer, row) "
        "ids and values, its triggers and answer, the base model and contract digests",
        suffixes=(".safetensors",),
        sniff=_safetensors_sniff(WORKBENCH_FORMAT),
        read=read_workbench_memory,
        written_by="`engram-probe export`",
        contracts=("workbench", "user-as-engram"),
    )
)
