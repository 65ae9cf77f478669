"""The report kernel every report kind shares: canonical JSON, the body digest, the environment, finalize, compare.

Light on purpose (no torch until an environment asks for it): hash-only reports and ``verify`` of them load fast.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import platform
from pathlib import Path
from typing import Any

# One canonical form for every digest in the project; the address contracts (a lower layer) define it.
from engram_probe.contracts.base import canonical_bytes as canonical_json

__all__ = [
    "ENVIRONMENT_KEYS",
    "PROVENANCE",
    "ReportError",
    "attribute",
    "body_digest",
    "canonical_json",
    "created_at",
    "differences",
    "environment",
    "finalize",
]


class ReportError(ValueError):
    """A report file that cannot be read or is not an engram-probe report."""


ENVIRONMENT_KEYS = (
    "torch",
    "numpy",
    "python",
    "platform",
    "machine",
    "threads",
    "cpu_kernels",
    "dtype",
    "deterministic_algorithms",
)


def body_digest(doc: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``doc`` with ``digests.report`` left out."""
    body = copy.deepcopy(doc)
    body.get("digests", {}).pop("report", None)
    return hashlib.sha256(canonical_json(body)).hexdigest()


def created_at() -> str:
    """Now, UTC, ISO 8601 to the second: every report's ``created_at``."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def environment(*keys: str) -> dict[str, Any]:
    """The machine a report was made on, in ``ENVIRONMENT_KEYS`` order; ``keys`` keeps only those.

    Model reports record all of it; hash-only reports record only what their figures can depend on.
    """
    wanted = keys or ENVIRONMENT_KEYS
    unknown = sorted(set(wanted) - set(ENVIRONMENT_KEYS))
    if unknown:
        raise ValueError(f"no environment field {unknown[0]!r}; known: {', '.join(ENVIRONMENT_KEYS)}")
    values: dict[str, Any] = {}
    if {"torch", "threads", "cpu_kernels", "deterministic_algorithms"} & set(wanted):
        import torch  # only model reports pay for it

        values |= {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            # the vector instructions torch's CPU kernels use (AVX2, AVX512...): floats of a training run differ
            # in the last bits between them, so a re-run on other kernels is compared within a tolerance
            "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        }
    if "numpy" in wanted:
        import numpy as np

        values["numpy"] = np.__version__
    values |= {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "dtype": "float32",
    }
    return {k: values[k] for k in ENVIRONMENT_KEYS if k in wanted}


# Who made a report and when: recorded in every report and covered by its digest, but not re-derived by verify
# (a re-run by another person at another time reproduces the same report).
PROVENANCE = frozenset({"created_at", "operator"})


def attribute(doc: dict[str, Any], operator: str) -> dict[str, Any]:
    """Record ``operator`` (a person's name) as who made ``doc``, in place, and re-take its report digest.

    Every new report the CLI or the UI writes, signed or not, is attributed before its files are written."""
    name = operator.strip() if isinstance(operator, str) else ""
    if not name:
        raise ValueError("a report records who made it: the operator's name is empty")
    doc["operator"] = {"name": name}
    if isinstance(doc.get("digests"), dict) and "report" in doc["digests"]:
        doc["digests"]["report"] = body_digest(doc)
    return doc


def finalize(doc: dict[str, Any], digests: dict[str, Any], stamp_time: bool = True) -> dict[str, Any]:
    """Stamp ``created_at`` (unless told not to) and ``digests`` = {algorithm, *digests, report} onto ``doc``.

    ``doc`` is changed in place and returned; ``digests.report`` is taken last, over everything else.
    """
    if stamp_time:
        doc["created_at"] = created_at()
    doc["digests"] = {"algorithm": "sha256", **digests}
    doc["digests"]["report"] = body_digest(doc)
    return doc


def differences(a: Any, b: Any, skip: frozenset[str] | set[str], tol: float = 0.0, path: str = "") -> list[dict]:
    """Every difference between reported ``a`` and recomputed ``b``, leaving out keys named in ``skip``.

    Floats must be equal (NaN equals NaN), or within ``tol`` relative and absolute when ``tol`` > 0.
    """
    out: list[dict[str, Any]] = []
    _walk(a, b, path, out, tol, skip)
    return out


def _walk(a: Any, b: Any, path: str, out: list[dict[str, Any]], tol: float, skip: frozenset[str] | set[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in skip:
                continue
            if k not in a or k not in b:
                out.append(
                    {"path": f"{path}.{k}", "reported": a.get(k, "<missing>"), "recomputed": b.get(k, "<missing>")}
                )
            else:
                _walk(a[k], b[k], f"{path}.{k}", out, tol, skip)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append({"path": path, "reported": f"{len(a)} items", "recomputed": f"{len(b)} items"})
        else:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                _walk(x, y, f"{path}[{i}]", out, tol, skip)
    elif isinstance(a, float) and isinstance(b, float):
        same = (math.isnan(a) and math.isnan(b)) or a == b or (tol > 0 and math.isclose(a, b, rel_tol=tol, abs_tol=tol))
        if not same:
            out.append({"path": path, "reported": a, "recomputed": b})
    elif a != b or type(a) is not type(b):
        out.append({"path": path, "reported": a, "recomputed": b})


def read_json_file(path: str | Path) -> Any:
    """A report file's parsed JSON; a missing or unreadable file is one ReportError line naming it."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"no report at {p}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{p.name} is not a readable JSON report ({exc})") from exc
