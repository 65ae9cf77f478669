"""Primality and the 'next unused prime' search that Engram table sizes are built from."""

from __future__ import annotations

from collections.abc import Iterable

# Deterministic Miller-Rabin witnesses for every n < 3.3e24 (covers int64).
_WITNESSES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)


def is_prime(n: int) -> bool:
    """Exact primality for any n below 3.3e24."""
    if n < 2:
        return False
    for p in _WITNESSES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for a in _WITNESSES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def next_primes(after: int, count: int, exclude: Iterable[int] = ()) -> list[int]:
    """The ``count`` smallest primes strictly greater than ``after`` that are not in ``exclude``."""
    skip = set(exclude)
    found: list[int] = []
    n = after + 1
    while len(found) < count:
        if n not in skip and is_prime(n):
            found.append(n)
        n += 1
    return found


def consecutive_primes(first: int, count: int) -> list[int]:
    """``count`` consecutive primes starting at ``first`` (which must itself be prime)."""
    if not is_prime(first):
        raise ValueError(f"{first} is not prime")
    return [first, *next_primes(first, count - 1)]
