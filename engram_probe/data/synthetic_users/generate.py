"""Generating whole users ``{uid, attrs, facts, direct_qa, indirect_qa}`` from ``(uid, seed)``."""

from __future__ import annotations

import random
from typing import Any

from engram_probe.data.synthetic_users.attributes import _make_attrs
from engram_probe.data.synthetic_users.facts import _make_facts
from engram_probe.data.synthetic_users.questions import _make_direct_qa, _make_indirect_qa


def generate_user(uid: str, seed: int) -> dict[str, Any]:
    """Generate one synthetic user in the reference schema; depends only on ``(uid, seed)``."""
    rng = random.Random(f"engram-synthetic-user|{seed}|{uid}")
    attrs = _make_attrs(uid, rng)
    return {
        "uid": uid,
        "attrs": attrs,
        "facts": _make_facts(attrs, rng),
        "direct_qa": _make_direct_qa(attrs),
        "indirect_qa": _make_indirect_qa(attrs, rng),
    }


def generate_users(n: int, seed: int = 0, prefix: str = "s") -> list[dict[str, Any]]:
    """Generate ``n`` users with uids ``f"{prefix}{i:03d}"`` (deterministic for a seed)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return [generate_user(f"{prefix}{i:03d}", seed) for i in range(n)]
