"""Signing cost: an audit report written plain and written signed (statement, Ed25519, envelope), side by side.

Both sides run interleaved in the same process on the shipped model, with the same memory and probe: the
plain side audits, finalises and writes the JSON report; the signed side does the same and then signs it
and writes its envelope beside it. The goal is signing adding under 5% to the report's cost.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks.bench_audit import probe_tokens
from benchmarks.common import emit, interleaved, median_time
from benchmarks.fixtures import user_memory
from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.engine import run_audit
from engram_probe.report.document import finalize
from engram_probe.report.printing import save_json_report
from engram_probe.report.signed import envelope_path, sign_report, write_envelope

GOAL = 0.05  # signing adds under 5% to a report's cost


def run(lm: LoadedModel) -> dict[str, Any]:
    """Plain vs signed audit report at two probe lengths on the shipped model."""
    memory = user_memory(lm, 3)
    key = Ed25519PrivateKey.generate()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-attest-") as d:
        out = Path(d) / "audit.json"
        for length in (64, lm.cfg.n_ctx):
            text = lm.tokenizer.decode(probe_tokens(lm, memory, length)[1:])

            def plain(text: str = text) -> dict[str, Any]:
                doc = finalize(run_audit(lm, memory, text))
                save_json_report(doc, out)
                return doc

            def signed(text: str = text) -> None:
                doc = plain(text)
                write_envelope(sign_report(doc, key, "bench"), envelope_path(out))

            t = interleaved({"plain": plain, "signed": signed}, repeat=7)
            doc = plain()
            sign_s = median_time(lambda doc=doc: write_envelope(sign_report(doc, key, "bench"), envelope_path(out)))
            rows.append(
                {
                    "tokens": len(lm.tokenizer.encode(text)),
                    "report_bytes": out.stat().st_size,
                    "plain_ms": t["plain"] * 1e3,
                    "signed_ms": t["signed"] * 1e3,
                    "sign_ms": sign_s * 1e3,
                    "added": sign_s / t["plain"],
                    "ratio": t["signed"] / t["plain"],
                }
            )
    worst = max(r["added"] for r in rows)
    payload = {"rows": rows, "goal": GOAL, "met": worst < GOAL}
    summary = ", ".join(
        f"{r['tokens']} tok: report {r['plain_ms']:,.0f} ms, signing {r['sign_ms']:,.1f} ms (+{r['added']:.1%}; "
        f"side by side {r['ratio']:.3f}x)"
        for r in rows
    )
    return emit(
        "attest",
        payload,
        f"signed audit report vs plain: {summary} (goal < {GOAL:.0%}, {'met' if worst < GOAL else 'MISSED'})",
    )


if __name__ == "__main__":
    from engram_probe.arch.workbench_checkpoint import load_checkpoint

    run(load_checkpoint())
