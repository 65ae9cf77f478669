"""The JSON report: canonical form, digests, save and load."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from engram_probe.audit.engine import OLDER_REPORT_FORMATS, REPORT_FORMAT
from engram_probe.report import kernel
from engram_probe.report.kernel import ReportError, read_json_file


def finalize(report: dict[str, Any]) -> dict[str, Any]:
    """Stamp creation time and digests of model, memory, probe and the canonical body."""
    doc = copy.deepcopy(report)
    return kernel.finalize(
        doc,
        {
            "model": doc["model"]["sha256"],
            "memory": doc["memory"]["sha256"],
            "probe": doc["probe"]["sha256"],
            "report_rule": "sha256 of the canonical JSON (sorted keys, no whitespace, UTF-8) of this document "
            "without digests.report",
        },
    )


def load_report(path: str | Path) -> dict[str, Any]:
    """An audit report read from ``path``, refused with a one-line ReportError if it is not one."""
    p = Path(path)
    doc = read_json_file(p)
    if not isinstance(doc, dict) or doc.get("format") not in (REPORT_FORMAT, *OLDER_REPORT_FORMATS):
        fmt = doc.get("format") if isinstance(doc, dict) else None
        raise ReportError(f"{p.name} is not an engram-probe report (format {fmt!r})")
    for key in ("digests", "model", "memory", "probe", "summary"):
        if key not in doc:
            raise ReportError(f"{p.name} lacks the '{key}' section")
    return doc
