"""How a verify result is told to people: each check by its outcome, each differing field in plain words.

Every verify (audit, contract, layered, population) returns ``{ok, checks, mismatches}``. A check carries
the sentence for what was found, worded by whether it passed; ``mismatches`` are ``{path, reported,
recomputed}`` with a JSON path such as ``.summary.first_write_site``. The CLI and the web UI both print them
through this module, so that a field is named the same way in both.
"""

from __future__ import annotations

import json
import re
from typing import Any

PASS_MARK = "✔"
FAIL_MARK = "✘"
MAX_NAMED = 3  # differing fields named in a check's own sentence; the full list follows it

# Words of report keys that are not plain English on their own.
_WORDS = {
    "lora": "LoRA",
    "heldout": "held-out",
    "top1": "top-1",
    "top5": "top-5",
    "sha256": "digest",
    "attn": "attention",
    "mlp": "MLP",
    "resid": "residual",
    "readmap": "read map",
    "prob": "probability",
    "ms": "ms",
    "id": "id",
    "ids": "ids",
    "ngram": "n-gram",
    "abs": "absolute",
    "num": "number of",
    "pos": "position",
}
# Whole keys whose words read better rewritten.
_KEYS = {
    "attn_out": "attention output",
    "mlp_out": "MLP output",
    "resid_post": "residual stream",
    "resid_post_relative": "residual stream (relative)",
    "untouched_bit_exact": "untouched positions bit-exact",
    "token_id": "token id",
    "fact_id": "fact",
}
_SECTIONS_DROPPED = {"summary", "result"}  # the report's headline figures: their keys say enough on their own
_INDEX = re.compile(r"\[(\d+)\]")


def outcome(name: str, ok: bool, passed: str, failed: str) -> dict[str, Any]:
    """One check, with the sentence of its outcome: ``passed`` when it holds, ``failed`` when it does not."""
    return {"check": name, "ok": bool(ok), "detail": passed if ok else failed}


def check_line(check: dict[str, Any]) -> str:
    """``✔ sentence`` or ``✘ sentence``: the mark and the outcome's own wording (never the passing one on a failure)."""
    return f"{PASS_MARK if check.get('ok') else FAIL_MARK} {check.get('detail', '')}"


def field_name(path: str) -> str:
    """A report's JSON path in plain words: ``.summary.first_write_site`` is "first write site",
    ``.contrasts.lora.recall_top1`` "contrasts, LoRA, recall top-1", ``.changes[3].layer`` "changes, item 4, layer"."""
    parts: list[str] = []
    keys = [p for p in path.split(".") if p]
    for i, key in enumerate(keys):
        base, indices = _INDEX.sub("", key), [int(m) for m in _INDEX.findall(key)]
        if i == 0 and base in _SECTIONS_DROPPED and not indices and len(keys) > 1:
            continue
        if base:
            parts.append(_KEYS.get(base) or " ".join(_WORDS.get(w, w) for w in base.split("_") if w))
        parts += [f"item {n + 1}" for n in indices]
    return ", ".join(parts) or "the whole report"


def value_text(value: Any, limit: int = 60) -> str:
    """A reported or re-run value as shown beside its field: numbers in full (a difference may be in the last
    digit), integers with thousands separators, long lists and texts shortened."""
    if value == "<missing>":
        return "missing"
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "none"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return repr(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = f"“{text}”" if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def difference_line(m: dict[str, Any]) -> str:
    """One differing field: "first write site: the report says 12, the re-run gives 13"."""
    return (
        f"{field_name(str(m.get('path', '')))}: the report says {value_text(m.get('reported'))}, "
        f"the re-run gives {value_text(m.get('recomputed'))}"
    )


def differing_fields(mismatches: list[dict[str, Any]], total: int | None = None) -> str:
    """The first few differing fields by name, for a check's failing sentence ("first write site and 1 more")."""
    total = len(mismatches) if total is None else total
    named = [field_name(str(m.get("path", ""))) for m in mismatches[:MAX_NAMED]]
    more = total - len(named)
    return "; ".join(named) + (f" and {more:,} more" if more > 0 else "")


def verdict(result: dict[str, Any]) -> tuple[str, str]:
    """("VERIFIED" or "NOT VERIFIED", the sentence after it): on a failure, only the failing checks' own words."""
    checks = result.get("checks", [])
    if result.get("ok"):
        return "VERIFIED", f"all {len(checks)} checks passed: every digest matches and the re-run reproduced the report"
    failed = [c for c in checks if not c.get("ok")]
    return "NOT VERIFIED", (
        f"{len(failed)} of {len(checks)} checks failed: " + "; ".join(str(c.get("detail", "")) for c in failed)
        if failed
        else "the report could not be checked"
    )


def made_by_note(doc: Any) -> str:
    """Who an unsigned report says made it, and what that is worth: the name is covered by the report's digest,
    which anyone can re-take, so only a signed attestation binds it to a key."""
    op = doc.get("operator") if isinstance(doc, dict) else None
    name = op.get("name") if isinstance(op, dict) else None
    if not isinstance(name, str) or not name:
        return "The report does not record who made it, and it is not signed."
    return (
        f"The report says it was made by {name}. It is not signed, so that is the report's own claim: "
        "anyone can change it and re-take the digest. A signed attestation binds the maker to a key."
    )


def result_lines(result: dict[str, Any]) -> list[str]:
    """The whole result as lines: each check by its outcome, each differing field, then the verdict."""
    lines = [check_line(c) for c in result.get("checks", [])]
    mismatches = result.get("mismatches") or []
    if mismatches and all(isinstance(m, dict) for m in mismatches):
        lines.append("Differing fields:")
        lines += [f"  {difference_line(m)}" for m in mismatches]
        left = int(result.get("mismatch_count", len(mismatches))) - len(mismatches)
        if left > 0:
            lines.append(f"  … and {left:,} more")
    word, why = verdict(result)
    return [*lines, f"{word}: {why}"]
