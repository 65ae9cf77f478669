"""Loading and validating user files in the reference per-user JSON format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _validate_user(user: Any, source: str) -> dict[str, Any]:
    if not isinstance(user, dict):
        raise ValueError(f"{source}: expected a JSON object for a user, got {type(user).__name__}")
    missing = [k for k in ("uid", "facts") if k not in user]
    if missing:
        raise ValueError(f"{source}: user is missing required key(s): {', '.join(missing)}")
    if not isinstance(user["facts"], list):
        raise ValueError(f"{source}: 'facts' must be a list, got {type(user['facts']).__name__}")
    for i, fact in enumerate(user["facts"]):
        if not isinstance(fact, dict) or "key" not in fact or "answer" not in fact:
            raise ValueError(f"{source}: fact #{i} of user {user['uid']!r} needs 'key' and 'answer'")
    return user


def _load_file(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc})") from exc
    except OSError as exc:
        raise ValueError(f"{path}: cannot read file ({exc})") from exc
    items = data if isinstance(data, list) else [data]
    return [_validate_user(u, str(path)) for u in items]


def load_users(path: str) -> list[dict[str, Any]]:
    """Load users from a directory of ``*.json`` files (sorted by name) or from one ``.json`` file.

    A file may hold one user object or a list of them. Raises ``ValueError`` when the path does
    not exist, holds no JSON files, or contains malformed JSON or a user without ``uid``/``facts``.
    """
    p = Path(path)
    if not p.exists():
        raise ValueError(f"user path does not exist: {path}")
    if p.is_dir():
        files = sorted(f for f in p.glob("*.json") if f.is_file())
        if not files:
            raise ValueError(f"no *.json user files in directory: {path}")
        users: list[dict[str, Any]] = []
        for f in files:
            users.extend(_load_file(f))
        return users
    return _load_file(p)
