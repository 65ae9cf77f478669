"""Who may use the workbench, and which users' memories each operator may read or write.

Operators log in with Gradio's login page. Their accounts come from a JSON file (``--auth-file``
or the ``ENGRAM_WORKBENCH_AUTH_FILE`` variable) or from the ``ENGRAM_WORKBENCH_AUTH`` variable
holding the same JSON, never from the command line::

    {"operators": [
        {"name": "alice", "password_scrypt": "scrypt$16384$8$1$<salt>$<hash>",
         "read": ["*"], "write": ["d0*", "alice"]}
    ]}

``read`` and ``write`` are lists of user-id patterns (``*`` and ``?`` wildcards); write implies
read. Passwords are stored only as scrypt hashes (Python's ``hashlib.scrypt``); make one with
``python -m workbench.access hash-password`` (it reads the password from the terminal or stdin).
Without accounts the workbench serves only the loopback address, with one local operator (the OS
user) who may read and write every user.
"""

from __future__ import annotations

import base64
import contextvars
import fnmatch
import getpass
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engram_probe.memory.store import default_operator

AUTH_FILE_ENV = "ENGRAM_WORKBENCH_AUTH_FILE"
AUTH_ENV = "ENGRAM_WORKBENCH_AUTH"
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
Need = Literal["read", "write"]


class AccessError(ValueError):
    """The operator may not do this, or the accounts file is not valid."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """An scrypt hash in the accounts file's format."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32, maxmem=2**26
        )
        return hmac.compare_digest(got, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class Operator:
    name: str
    read: tuple[str, ...] = ("*",)
    write: tuple[str, ...] = ("*",)

    def may(self, need: Need, user_id: str) -> bool:
        patterns = self.write if need == "write" else self.read + self.write
        return any(fnmatch.fnmatchcase(user_id, p) for p in patterns)


@dataclass
class AccessPolicy:
    """The accounts (empty: no login, one local operator) and the operator of the request being served."""

    accounts: dict[str, tuple[Operator, str]] = field(default_factory=dict)
    local: Operator = field(default_factory=lambda: Operator(default_operator()))
    _current: contextvars.ContextVar[Operator | None] = field(
        default_factory=lambda: contextvars.ContextVar("operator", default=None)
    )

    @property
    def enabled(self) -> bool:
        return bool(self.accounts)

    def login(self, username: str, password: str) -> bool:
        """Gradio's ``auth`` callable."""
        entry = self.accounts.get(username)
        return entry is not None and password_matches(password, entry[1])

    def operator_for(self, username: str | None) -> Operator:
        if not self.enabled:
            return self.local
        if username is None or username not in self.accounts:
            raise AccessError("log in first")
        return self.accounts[username][0]

    @contextmanager
    def acting(self, request: Any) -> Iterator[Operator]:
        """Serve one request as the logged-in operator (``request`` is Gradio's request, or None)."""
        op = self.operator_for(getattr(request, "username", None))
        token = self._current.set(op)
        try:
            yield op
        finally:
            self._current.reset(token)

    @property
    def current(self) -> Operator:
        op = self._current.get()
        if op is None:
            if self.enabled:
                raise AccessError("log in first")
            return self.local
        return op

    def require(self, need: Need, user_id: str) -> Operator:
        op = self.current
        if not op.may(need, user_id):
            verb = "write into" if need == "write" else "read"
            raise AccessError(f"operator {op.name} may not {verb} user {user_id}")
        return op

    def visible(self, user_ids: list[str]) -> list[str]:
        op = self._current.get()
        if op is None:
            return [] if self.enabled else list(user_ids)
        return [u for u in user_ids if op.may("read", u)]


def _patterns(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise AccessError(f"{where}: field {key} must be a list of user-id patterns")
    return tuple(value)


def policy_from_json(text: str, where: str) -> AccessPolicy:
    """Parse the accounts JSON; ``where`` names its source in errors."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AccessError(f"{where} is not readable JSON ({exc.msg}, line {exc.lineno})") from exc
    ops = data.get("operators") if isinstance(data, dict) else None
    if not isinstance(ops, list) or not ops:
        raise AccessError(f"{where}: field operators must be a non-empty list")
    accounts: dict[str, tuple[Operator, str]] = {}
    for i, entry in enumerate(ops):
        at = f"{where}: operator {i + 1}"
        if not isinstance(entry, dict):
            raise AccessError(f"{at} must be an object")
        name, pw = entry.get("name"), entry.get("password_scrypt")
        if not isinstance(name, str) or not name.strip() or name in accounts:
            raise AccessError(f"{at}: field name must be a unique, non-empty text")
        if "password" in entry:
            raise AccessError(f"{at}: plain passwords are not accepted; store password_scrypt (see the README)")
        if not isinstance(pw, str) or not pw.startswith("scrypt$") or pw.count("$") != 5:
            raise AccessError(f"{at}: field password_scrypt must be a hash made by hash-password")
        accounts[name] = (Operator(name, _patterns(entry, "read", at), _patterns(entry, "write", at)), pw)
    return AccessPolicy(accounts)


def load_policy(auth_file: str | Path | None = None) -> AccessPolicy:
    """The accounts from ``auth_file``, else from the environment, else none (local operator only)."""
    path = auth_file or os.environ.get(AUTH_FILE_ENV)
    if path:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AccessError(f"cannot read the accounts file {p} ({exc})") from exc
        if p.stat().st_mode & 0o077:
            print(f"[workbench] warning: the accounts file {p} can be read by other users (chmod 600)", file=sys.stderr)
        return policy_from_json(text, f"accounts file {p.name}")
    if os.environ.get(AUTH_ENV):
        return policy_from_json(os.environ[AUTH_ENV], f"the {AUTH_ENV} variable")
    return AccessPolicy()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, policy: AccessPolicy) -> None:
    """Refuse to serve beyond this machine without accounts: anyone who reaches the port could read every memory."""
    if not is_loopback(host) and not policy.enabled:
        raise AccessError(
            f"refusing to serve on {host} without operator accounts: anyone who can reach that address could read "
            "and write every user's memory. Serve on 127.0.0.1, or give an accounts file (see Security model in "
            "the README)."
        )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["hash-password"]:
        print("usage: python -m workbench.access hash-password", file=sys.stderr)
        return 2
    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
