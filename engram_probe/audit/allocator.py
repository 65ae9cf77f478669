"""Keep freed activation buffers in the process, so a paired run does not page-fault them in again.

A paired run records every hook of two forwards: hundreds of megabytes at 512 tokens that are
freed together when the audit ends. With glibc's defaults the heap top above a few megabytes is
handed back to the kernel, so the next audit touches every page afresh (a page fault and a
zero-fill each): measured as about 0.9 of a plain forward at 512 tokens on this project's model.
Raising the trim threshold (and pinning the mmap threshold, which setting it would otherwise let
float) keeps up to ``TRIM_BYTES`` of freed memory for reuse. Nothing changes elsewhere, or on a
platform without glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_BYTES = 32 << 20  # glibc's own ceiling for its adaptive mmap threshold on 64-bit
TRIM_BYTES = 512 << 20

_state = {"done": False, "applied": False}


def keep_freed_buffers() -> bool:
    """Apply the thresholds once per process; True when glibc accepted them."""
    if _state["done"]:
        return _state["applied"]
    _state["done"] = True
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    _state["applied"] = bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))
    return _state["applied"]
