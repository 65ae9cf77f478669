"""Digest and check weight tensors: what every loader and the model seam share (imports no architecture)."""

from __future__ import annotations

import hashlib

import torch


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and raw bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes())
    return h.hexdigest()


def first_non_finite(tensors: dict[str, torch.Tensor]) -> str | None:
    """The first (by name) floating tensor holding a NaN or an infinity, or None when all are finite."""
    for name in sorted(tensors):
        t = tensors[name]
        if t.is_floating_point() and t.numel() and not is_finite(t):
            return name
    return None


def is_finite(t: torch.Tensor) -> bool:
    """Whether every value is finite: min and max propagate NaN and infinity, and cost far less than isfinite."""
    low, high = torch.aminmax(t)
    return bool(torch.isfinite(low) & torch.isfinite(high))
