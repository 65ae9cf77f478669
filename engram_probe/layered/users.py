"""Where layered users come from: generated users (the default, nothing from ../shared) or user files by path."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from engram_probe.contracts.base import canonical_bytes

# Defaults: adapter trained on one generated population, evaluated on another (never the same users).
ADAPTER_USERS = "generated:10:20:a"
TEST_USERS = "generated:4:30:l"


class UsersError(ValueError):
    """A users spec that names nothing usable."""


def _uid_filter(spec: str | None) -> Any:
    if not spec:
        return lambda _uid: True
    m = re.fullmatch(r"([A-Za-z]*)(\d+)-\1?(\d+)", spec.strip())
    if m:
        prefix, lo, hi = m.group(1), int(m.group(2)), int(m.group(3))
        width = len(m.group(2))
        wanted = {f"{prefix}{i:0{width}d}" for i in range(lo, hi + 1)}
    else:
        wanted = {u.strip() for u in spec.split(",") if u.strip()}
    return lambda uid: uid in wanted


def load_layered_users(
    spec: str, uids: str | None = None, limit: int | None = None, facts: int | None = None
) -> list[dict[str, Any]]:
    """``generated:N[:seed[:prefix]]`` or a path to user files; ``uids`` like ``u020-u029`` or ``u001,u004``.

    ``facts`` keeps each user's first N facts (for quick runs; recorded in reports so that verify agrees).
    """
    if spec.startswith("generated:"):
        from engram_probe.data.synthetic_users import generate_users

        parts = spec.split(":")
        try:
            n = int(parts[1])
            seed = int(parts[2]) if len(parts) > 2 else 0
        except ValueError as exc:
            raise UsersError(f"bad users spec {spec!r}; use generated:N[:seed[:prefix]]") from exc
        prefix = parts[3] if len(parts) > 3 else "l"
        users = generate_users(n, seed=seed, prefix=prefix)
    else:
        from engram_probe.data.synthetic_users.io import load_users

        try:
            users = load_users(spec)
        except (OSError, ValueError) as exc:
            raise UsersError(str(exc)) from exc
    keep = _uid_filter(uids)
    users = [u for u in users if keep(u["uid"])]
    if limit is not None:
        users = users[:limit]
    if facts is not None:
        users = [dict(u, facts=u["facts"][:facts]) for u in users]
    if not users:
        raise UsersError(f"no users in {spec!r}" + (f" match {uids!r}" if uids else ""))
    return users


def users_digest(users: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256(canonical_bytes(users)).hexdigest()
