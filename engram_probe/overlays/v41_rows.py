"""Row overrides for DeepSeek-V4.1 as a safetensors file, in the checkpoint's own row encoding.

Per Engram layer L the file holds ``layers.{L}.engram.rows`` (int64 [k], index in that layer's table)
and either ``layers.{L}.engram.embed.weight`` as float32 [k, 256], or as FP8 e4m3 [k, 256] with
``layers.{L}.engram.embed.scale`` as UE8M0 [k, 8] (one power-of-two scale per 32 values:
value = fp8 · 2^(byte − 127)), as in the checkpoint. Metadata names the format, the user, the
contract digest and, optionally, the facts (triggers) the rows were written for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save

from engram_probe.contracts.base import AddressContract
from engram_probe.overlays.pleo import atomic_write
from engram_probe.overlays.rowset import V41_FORMAT, FactTrigger, OverlayFileError, OverlayRows, normalise_rows
from engram_probe.safetensors_io import UnreadableSafetensors, read_all

FORMAT = V41_FORMAT
BLOCK = 32
FP8_MAX = 448.0  # largest finite float8_e4m3fn
NAME = re.compile(r"^layers\.(\d+)\.engram\.(rows|embed\.weight|embed\.scale)$")


def quantize_fp8(values: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 [k, d] -> (fp8 e4m3 [k, d], ue8m0 [k, d/32]): the smallest power-of-two scale that fits each block."""
    k, d = values.shape
    blocks = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32)).reshape(k, d // BLOCK, BLOCK)
    amax = blocks.abs().amax(dim=-1)
    exp = torch.where(amax > 0, torch.ceil(torch.log2(amax / FP8_MAX)), torch.full_like(amax, -127.0))
    exp = exp.clamp(-127, 127)
    q = (blocks / torch.exp2(exp).unsqueeze(-1)).to(torch.float8_e4m3fn).reshape(k, d)
    scale = (exp + 127).to(torch.uint8).view(torch.float8_e8m0fnu)
    return q, scale


def dequantize_fp8(q: torch.Tensor, scale: torch.Tensor) -> np.ndarray:
    """fp8 [k, d] and ue8m0 (float8_e8m0fnu or uint8) [k, d/32] -> float32 [k, d]."""
    k, d = q.shape
    exp = scale.view(torch.uint8).to(torch.float32) - 127.0
    out = q.to(torch.float32).reshape(k, d // BLOCK, BLOCK) * torch.exp2(exp).unsqueeze(-1)
    return out.reshape(k, d).numpy()


def fp8_refusal(
    q: torch.Tensor, scale: torch.Tensor, values: np.ndarray, rows: np.ndarray, written: np.ndarray | None = None
) -> str | None:
    """Why FP8 rows do not stand for finite float32 values (a NaN code, or a value beyond float32), or None."""
    codes = q.view(torch.uint8).numpy()
    nan_code = (codes & 0x7F) == 0x7F  # e4m3fn has no infinity; S.1111.111 is its NaN
    if nan_code.any():
        return f"row {int(rows[np.argwhere(nan_code)[0][0]])} holds the FP8 NaN code, not a number"
    scales = scale.view(torch.uint8).numpy()
    if (scales == 255).any():
        return f"row {int(rows[np.argwhere(scales == 255)[0][0]])} has UE8M0 scale byte 255, the format's NaN code"
    beyond = ~np.isfinite(values)
    if beyond.any():
        i, j = (int(x) for x in np.argwhere(beyond)[0])
        fp8, exp = float(q[i, j].to(torch.float32)), int(scales[i, j // BLOCK]) - 127
        was = f" (written as {float(written[i, j]):g})" if written is not None else ""
        return (
            f"row {int(rows[i])} value {j}{was} is {fp8:g} x 2^{exp} in FP8, beyond the largest float32 "
            f"({float(np.finfo(np.float32).max):.4g}): the value overflows the format's range"
        )
    return None


def write_v41_rows(overlay: OverlayRows, path: str | Path, contract: AddressContract, encoding: str = "fp8") -> Path:
    """Write the overlay as a V4.1 row-override file (``encoding`` "fp8" or "float32"), atomically."""
    if encoding not in ("fp8", "float32"):
        raise OverlayFileError(f"unknown encoding {encoding!r}: use fp8 or float32")
    tensors: dict[str, torch.Tensor] = {}
    for layer, (rows, values) in sorted(overlay.layers.items()):
        contract.check_layer(layer)
        tensors[f"layers.{layer}.engram.rows"] = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.int64))
        if not np.isfinite(values).all():
            raise OverlayFileError(f"layer {layer}: values contain NaN or infinity; nothing was written")
        if encoding == "fp8":
            q, scale = quantize_fp8(values)
            problem = fp8_refusal(q, scale, dequantize_fp8(q, scale), rows, values)
            if problem is not None:
                # a value within a rounding step of the largest float32 rounds up past it in FP8
                raise OverlayFileError(
                    f"layer {layer}: {problem}; write these rows with encoding float32. Nothing was written"
                )
            tensors[f"layers.{layer}.engram.embed.weight"] = q
            tensors[f"layers.{layer}.engram.embed.scale"] = scale
        else:
            tensors[f"layers.{layer}.engram.embed.weight"] = torch.from_numpy(np.ascontiguousarray(values, np.float32))
    meta = {
        "format": FORMAT,
        "user": overlay.user,
        "contract": contract.name,
        "contract_sha256": contract.digest(),
        "encoding": encoding,
        "facts": json.dumps([f.as_dict() for f in overlay.facts]),
    }
    return atomic_write(Path(path), save(tensors, metadata=meta))


def _facts(meta: dict[str, str], user: str, where: str) -> list[FactTrigger]:
    try:
        items = json.loads(meta.get("facts") or "[]")
        return [
            FactTrigger(
                user=str(f.get("user") or user),
                fact_id=str(f["fact_id"]),
                trigger_ids=tuple(int(t) for t in f["trigger_ids"]),
                layers=None if f.get("layers") is None else tuple(int(x) for x in f["layers"]),
                trigger_text=f.get("trigger_text"),
                answer_ids=tuple(int(t) for t in f.get("answer_ids") or ()),
            )
            for f in items
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise OverlayFileError(f"{where}: unreadable facts metadata ({exc})") from exc


def read_v41_rows(path: str | Path, contract: AddressContract, user: str | None = None) -> OverlayRows:
    """Parse and validate a V4.1 row-override file completely before returning anything."""
    p = Path(path)
    if not p.is_file():
        raise OverlayFileError(f"no file at {p}")
    try:
        meta, tensors = read_all(p)
    except UnreadableSafetensors as exc:
        raise OverlayFileError(f"{p.name}: not a readable safetensors file, or truncated ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise OverlayFileError(f"{p.name}: not a V4.1 row-override file (format {meta.get('format')!r})")
    if meta.get("contract_sha256") not in (None, contract.digest()):
        written = f"{meta['contract']} " if meta.get("contract") else ""
        raise OverlayFileError(
            f"{p.name}: written under contract {written}{meta['contract_sha256'][:12]}…, not {contract.name} "
            f"{contract.digest()[:12]}…"
        )
    by_layer: dict[int, dict[str, torch.Tensor]] = {}
    for key, t in tensors.items():
        m = NAME.match(key)
        if not m:
            raise OverlayFileError(f"{p.name}: unexpected tensor {key!r}")
        by_layer.setdefault(int(m.group(1)), {})[m.group(2)] = t
    layers: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    dups = 0
    for layer, parts in sorted(by_layer.items()):
        where = f"{p.name} layer {layer}"
        if "rows" not in parts or "embed.weight" not in parts:
            raise OverlayFileError(f"{where}: needs both rows and embed.weight")
        rows, weight = parts["rows"], parts["embed.weight"]
        if rows.dtype != torch.int64 or rows.ndim != 1:
            raise OverlayFileError(f"{where}: row ids must be int64 [k], got {rows.dtype} {tuple(rows.shape)}")
        if weight.ndim != 2:
            raise OverlayFileError(f"{where}: embed.weight must be [k, dim], got {tuple(weight.shape)}")
        if weight.dtype == torch.float8_e4m3fn:
            scale = parts.get("embed.scale")
            want = (weight.shape[0], weight.shape[1] // BLOCK)
            if scale is None or tuple(scale.shape) != want or scale.dtype not in (torch.float8_e8m0fnu, torch.uint8):
                raise OverlayFileError(f"{where}: FP8 values need a UE8M0 embed.scale of shape {list(want)}")
            if weight.shape[1] % BLOCK:
                raise OverlayFileError(f"{where}: wrong dim {weight.shape[1]}: not a multiple of {BLOCK}")
            if weight.shape[0] != rows.shape[0]:
                raise OverlayFileError(f"{where}: {rows.shape[0]} row ids but values of shape {tuple(weight.shape)}")
            values = dequantize_fp8(weight, scale)
            problem = fp8_refusal(weight, scale, values, rows.numpy())
            if problem is not None:
                raise OverlayFileError(f"{where}: {problem}")
        elif weight.dtype == torch.float32 and "embed.scale" not in parts:
            values = weight.numpy()
        else:
            raise OverlayFileError(f"{where}: values must be float32, or FP8 e4m3 with scales; got {weight.dtype}")
        r, v, d = normalise_rows(contract, layer, rows.numpy(), values, where)
        dups += d
        layers[layer] = (r, v)
    who = user or meta.get("user") or p.stem
    notes = [f"{dups} identical duplicate rows dropped"] if dups else []
    return OverlayRows(who, str(p), FORMAT, layers, _facts(meta, who, p.name), meta.get("contract_sha256"), notes)
