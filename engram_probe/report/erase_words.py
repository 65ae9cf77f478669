"""An erase's proof in plain sentences: the one wording the CLI's ``erase`` and the UI's History tab show."""

from __future__ import annotations

from typing import Any

from engram_probe.report.numbers import count, plural, size


def proof_sentences(proof: dict[str, Any]) -> tuple[bool | None, list[str]]:
    """An erase's proof in plain sentences, the CLI's and the UI's: (bit-exact or None, the verdict first)."""
    if proof.get("bit_exact") is None:
        return None, [
            "No proof: the user's memory failed the ledger check, so there was nothing trustworthy to compare with."
        ]
    ok = bool(proof["bit_exact"])
    rows = proof["rows"]
    some = "" if all(r["bit_exact"] for r in rows) else " (SOME DO NOT)"
    lines = [
        "Erase is bit-exact." if ok else "Erase is NOT bit-exact.",
        f"{plural(len(rows), 'row')} of the erased facts: {count(proof['rows_to_shared_table'])} read the shared "
        f"table again, {count(proof['rows_kept_by_remaining_facts'])} keep a remaining fact's value byte for "
        f"byte{some}.",
    ]
    for f in proof["forwards"]:
        same = "identical to" if f["identical"] else "DIFFERENT from"
        before = "it changed them before the erase" if f["changed_before_erase"] else "it did not change them before"
        lines.append(
            f"“{f['text']}”: every logit ({count(f['values_compared'])} values, {size(f['bytes_compared'])}) is "
            f"{same} the model with only the remaining facts; {before}."
        )
    d = proof["digests"]
    lines.append(
        f"Memory digest now {d['after'][:16]}…, without the erased facts {d['without_the_facts'][:16]}…, "
        f"in the ledger {d['ledger_after'][:16]}…."
    )
    return ok, lines
