"""``verify``: check a report's own digest, then re-run its audit and compare every claim."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engram_probe.arch.loaded import LoadedModel, ModelFileError
from engram_probe.arch.loading import open_model
from engram_probe.audit.contrasts import as_recorded
from engram_probe.audit.engine import OLDER_REPORT_FORMATS, AuditOptions, generated_heldout, run_audit, sha256_text
from engram_probe.audit.heldout import (
    HeldoutError,
    HeldoutSet,
    default_heldout,
    read_heldout_file,
)
from engram_probe.audit.readmap import in_format_1
from engram_probe.memory.store import MemoryStore, StoreError
from engram_probe.memory.transfer import read_memory_file
from engram_probe.memory.user_memory import UserMemory
from engram_probe.report.checks import differing_fields, outcome
from engram_probe.report.document import load_report
from engram_probe.report.kernel import PROVENANCE, ReportError, body_digest, differences

# Fields that legitimately differ between two runs of the same audit.
VOLATILE = PROVENANCE | {"digests", "environment", "train_ms", "cost_ms", "write_ms", "ms_per_fact", "path"}


@dataclass(frozen=True)
class MemorySources:
    """Where verify may take the memory from. Paths inside a report are hints, used only with ``use_hints``.

    The web UI passes its own ``store`` and no hints, so an uploaded report never makes the server open a path.
    """

    store: MemoryStore | None = None
    store_path: str | Path | None = None
    memory_path: str | Path | None = None
    use_hints: bool = True


def load_memory(
    source: dict[str, Any], lm: LoadedModel, where: MemorySources = MemorySources()
) -> tuple[UserMemory, str]:
    """The memory a report was made from, opened read-only from the operator's sources (or, in the CLI, the hint),
    and where it came from in words ("the store m.db", "this server's store")."""
    kind = source.get("kind")
    user = source.get("user")
    hint = source.get("path")
    if kind == "store":
        if not isinstance(user, str):
            raise ReportError("the report names no user for its store")
        if where.store is not None:
            if not where.store.has_user(user):  # named without listing the store's other users
                raise ReportError(f"this server's store has no user {user!r}")
            return where.store.load(user), "this server's store"
        if where.store_path is not None:
            named = f"the store {where.store_path}"
            if not Path(where.store_path).is_file():
                raise ReportError(f"there is no memory store at {where.store_path}")
            with MemoryStore(where.store_path, lm.weights_sha256, mode="read") as store:
                if not store.has_user(user):
                    raise ReportError(f"{named} has no user {user!r}: it is not the store this report was made from")
                return store.load(user), named
        moved = ReportError(
            "the report's store is not at the place it names (moved, or made on another machine); "
            "give the store to verify against"
        )
        if not (where.use_hints and isinstance(hint, str) and Path(hint).is_file()):
            raise moved
        try:  # a hint is only a hint: whatever is there, nothing about it is told, and it is opened read-only
            with MemoryStore(hint, lm.weights_sha256, mode="read") as store:
                return store.load(user), f"the store the report names ({hint})"
        except StoreError as exc:
            raise moved from exc
    if kind == "file":
        path = where.memory_path
        if path is None and where.use_hints and isinstance(hint, str) and Path(hint).is_file():
            path = hint
        if path is None:
            raise ReportError(
                "the report was made from an exported memory file, which is not at the place it names "
                "(or cannot be opened here); give that memory file to verify against"
            )
        return read_memory_file(path, lm.model, lm.weights_sha256), f"the memory file {path}"
    raise ReportError("the report names no memory source that can be re-loaded")


def load_heldout(
    options: dict[str, Any], path: str | Path | None = None, use_hints: bool = True
) -> tuple[HeldoutSet, dict[str, int] | None]:
    """The held-out texts a report's contrasts used, and for a report from before they were an input its old fields.

    The default set is the pinned one; a file is the operator's ``path`` or (CLI only) the report's hint, and its
    texts must hash to the recorded digest. Old reports name how their texts were generated: 8 documents of seed
    12345 are the default set, other values are generated again (those reports depend on the generator).
    """
    record = options.get("heldout")
    if record is None:
        n, seed = int(options.get("heldout_docs", 8)), int(options.get("heldout_seed", 12345))
        legacy = {"heldout_docs": n, "heldout_seed": seed}
        return generated_heldout(n, seed), legacy
    source = record.get("source") if isinstance(record, dict) else None
    kind = source.get("kind") if isinstance(source, dict) else None
    if kind == "default":
        held = default_heldout()
    elif kind == "file" and isinstance(source, dict):
        hint = source.get("path")
        chosen = path or (hint if use_hints and isinstance(hint, str) and Path(hint).is_file() else None)
        if chosen is None:
            raise ReportError(
                "the report's held-out texts came from a file that is not at the place it names (or cannot be "
                "opened here); give that held-out file to verify against"
            )
        held = read_heldout_file(chosen)
    else:
        raise ReportError("the report's options.heldout names no held-out source that can be re-loaded")
    return held, None


def verify_report(
    path: str | Path,
    model_dir: str | Path | None = None,
    *,
    lm: LoadedModel | None = None,
    store: MemoryStore | None = None,
    store_path: str | Path | None = None,
    memory_path: str | Path | None = None,
    heldout_path: str | Path | None = None,
    engram_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Return {ok, checks, mismatches}; ``ok`` is False on any mismatch or failure to re-run.

    With ``lm`` and ``store`` (the web UI) nothing named in the report is opened: the server's own
    model and store are used and matched by digest. Otherwise (the CLI) the operator's ``model_dir``,
    ``store_path``, ``memory_path`` or ``heldout_path`` are used, or the report's paths as hints; stores open
    read-only.
    """
    server = lm is not None
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, passed: str, failed: str | None = None) -> bool:
        checks.append(outcome(name, ok, passed, passed if failed is None else failed))
        return ok

    def stop() -> dict[str, Any]:
        return {"ok": False, "checks": checks, "mismatches": []}

    try:
        doc = load_report(path)
    except ReportError as exc:
        check("readable report", False, "", str(exc))
        return stop()
    digest, recorded_digest = body_digest(doc), str(doc["digests"].get("report"))
    check(
        "report digest",
        digest == recorded_digest,
        f"the report's body hashes to its recorded digest ({digest[:16]}…)",
        f"the report's body hashes to {digest[:16]}…, not its recorded {recorded_digest[:16]}…: "
        "the report was edited after it was written",
    )
    text = doc["probe"].get("text", "")
    check(
        "probe digest",
        isinstance(text, str) and sha256_text(text) == doc["probe"].get("sha256") == doc["digests"].get("probe"),
        "probe text matches its digest",
        "probe text does not match its digest",
    )
    if lm is None:
        hint, engram_hint = doc["model"].get("path"), doc["model"].get("engram_path")
        engram = engram_dir or (engram_hint if isinstance(engram_hint, str) and Path(engram_hint).is_dir() else None)
        try:
            lm = open_model(
                model_dir or (hint if isinstance(hint, str) and Path(hint).is_dir() else None),
                engram=engram,
            )
        except ModelFileError as exc:
            check("model", False, "", f"cannot load the model: {exc}")
            return stop()
    named_model = str(doc["model"]["sha256"])
    check(
        "model digest",
        lm.weights_sha256 == named_model == doc["digests"].get("model"),
        f"the loaded model's weights match the report's digest ({named_model[:16]}…)",
        f"the loaded model's weights hash to {lm.weights_sha256[:16]}…, not the report's {named_model[:16]}…: "
        "it is not the model the report was made with",
    )
    where = MemorySources(store, store_path, memory_path, use_hints=not server)
    try:
        memory, source = load_memory(doc["memory"].get("source", {}), lm, where)
    except (StoreError, KeyError, ReportError) as exc:
        check("memory", False, "", f"cannot re-load the memory: {exc}")
        return stop()
    named_memory, user = str(doc["memory"]["sha256"]), memory.user_id
    check(
        "memory digest",
        memory.digest() == named_memory == doc["digests"].get("memory"),
        f"{user}'s memory in {source} matches the report's digest ({named_memory[:16]}…)",
        f"{source} holds {user}'s memory with digest {memory.digest()[:16]}…, not the report's "
        f"{named_memory[:16]}…: it is not the store this report was made from, or {user}'s facts changed since; "
        "nothing was re-run",
    )
    recorded = doc.get("options", {})
    try:
        held, legacy = load_heldout(recorded, heldout_path, use_hints=not server)
    except (HeldoutError, ReportError) as exc:
        check("held-out texts", False, "", f"cannot re-load the held-out texts: {exc}")
        return stop()
    if legacy is None:
        named = str(recorded["heldout"].get("sha256"))
        check(
            "held-out digest",
            held.sha256 == named,
            f"the {len(held.texts):,} held-out texts match the report's digest ({named[:16]}…)",
            f"the {len(held.texts):,} held-out texts re-loaded hash to {held.sha256[:16]}…, not the report's "
            f"{named[:16]}…",
        )
    if not all(c["ok"] for c in checks):
        return stop()
    options = AuditOptions.from_dict(recorded, held)
    fresh = run_audit(lm, memory, text, doc["memory"].get("source"), options, doc.get("gold", {}).get("fact_id"))
    fresh = json.loads(json.dumps(fresh))  # the same JSON types as the saved report (tuples become lists)
    if "fact_list" not in doc.get("memory", {}):  # a report from before reports listed the facts
        fresh["memory"].pop("fact_list", None)
    if legacy is not None:  # compared in the form the old report recorded them
        fresh["options"] = {k: v for k, v in fresh["options"].items() if k != "heldout"} | legacy
    if doc.get("format") in OLDER_REPORT_FORMATS:
        fresh = in_format_1(fresh)
    if isinstance(doc.get("contrasts"), dict) and isinstance(fresh.get("contrasts"), dict):
        fresh["contrasts"] = as_recorded(fresh["contrasts"], doc["contrasts"])
    env = doc.get("environment", {})
    fenv = fresh["environment"]
    same_env = all(env.get(k) == fenv.get(k) for k in ("torch", "threads", "cpu_kernels"))
    # other CPU kernels round a LoRA's training differently, which moves a count of changed values by ~1e-4
    same_kernels = env.get("cpu_kernels") == fenv.get("cpu_kernels")
    tol = 0.0 if same_env else 1e-5 if same_kernels else 1e-3
    mismatches = differences(doc, fresh, VOLATILE, tol)
    how = (
        "with the same torch, threads and CPU kernels"
        if same_env
        else "with a different torch or thread count, within 1e-5"
        if same_kernels
        else "on other CPU kernels than the report records (or a report that does not record them), within 0.1%"
    )
    check(
        "re-run",
        not mismatches,
        f"the re-run audit ({how}) reproduced every claim",
        f"the re-run audit ({how}) differs in {len(mismatches):,} values: {differing_fields(mismatches)}",
    )
    said, again = doc["summary"]["untouched_bit_exact"], fresh["summary"]["untouched_bit_exact"]
    check(
        "bit-exact claim",
        again == said,
        f"the re-run confirms the claim that untouched positions are {'' if said else 'not '}bit-exact",
        f"the report claims untouched positions are {'' if said else 'not '}bit-exact; the re-run finds they "
        + ("are" if again else "are not"),
    )
    return {
        "ok": all(c["ok"] for c in checks),
        "checks": checks,
        "mismatches": mismatches[:50],
        "mismatch_count": len(mismatches),
    }
