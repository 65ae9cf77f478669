"""``engram-probe``: the command line, a thin layer over the library."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engram_probe.config import DEFAULT_LAYER

Handler = Callable[[argparse.Namespace], Any]
COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None], str]] = {}


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def command(name: str, help_text: str) -> Callable[[Callable[[argparse.ArgumentParser], None]], Any]:
    def register(add_args: Callable[[argparse.ArgumentParser], None]) -> Any:
        def bind(handler: Handler) -> Handler:
            COMMANDS[name] = (handler, add_args, help_text)
            return handler

        return bind

    return register


def emit(args: argparse.Namespace, payload: dict[str, Any], human: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        print(human)


def load_model_arg(args: argparse.Namespace) -> Any:
    from engram_probe.checkpoint import ModelFileError
    from engram_probe.loading import open_model

    try:
        return open_model(args.model, getattr(args, "trust_pickle", False))
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc


def add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=None,
        help="model directory: a workbench model, or a nanochat-engram "
        "checkpoint (model.pt + config.json + tokenizer.json); default: the shipped model",
    )
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow the checkpoint's engram_canonical_map.pkl (loading a pickle runs code)",
    )


# ---------------------------------------------------------------------------- train
def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="directory to write the model into")
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--docs", type=int, default=60000, help="documents to generate for the corpus")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--no-twin", action="store_true", help="skip the no-Engram twin")
    p.add_argument("--n-ctx", type=int, default=None, help="training context length (default: the config's)")
    p.add_argument("--table-size", type=int, default=None, help="rows per Engram hash head (base of the primes)")
    p.add_argument(
        "--positions", choices=("standard", "rotary"), default=None, help="learned absolute positions or rotary"
    )
    p.add_argument(
        "--storage",
        choices=("float32", "bfloat16"),
        default="float32",
        help="precision of the saved weights (bfloat16 halves the file; upcast exactly at load)",
    )
    p.add_argument("--parallel-twin", action="store_true", help="train the twin in a second process, 1 thread each")
    p.add_argument("--seed", type=int, default=0, help="training seed (batches and initialisation)")
    p.add_argument("--json", action="store_true")


@command("train", "train the default Engram model (and its no-Engram twin) from a generated corpus")(_train_args)
def cmd_train(args: argparse.Namespace) -> None:
    from engram_probe.config import EngramConfig
    from engram_probe.pretrain import PretrainPlan, build_default_model
    from engram_probe.training import TrainSettings

    plan = PretrainPlan(
        n_docs=args.docs,
        settings=TrainSettings(steps=args.steps, batch_size=args.batch_size, seed=args.seed),
        train_twin=not args.no_twin,
        parallel_twin=args.parallel_twin,
        storage=args.storage,
        command="engram-probe " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["train"] else "",
    )
    changes = {
        "n_ctx": args.n_ctx,
        "table_size_per_head": args.table_size,
        "positional_embedding_type": args.positions,
    }
    try:
        cfg = EngramConfig().replace(**{k: v for k, v in changes.items() if v is not None})
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    facts = build_default_model(args.out, cfg, plan)
    emit(args, facts["heldout"], f"saved to {args.out}; held-out loss {facts['heldout']}")


# ---------------------------------------------------------------------------- info
def _info_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--json", action="store_true")


@command("info", "describe a model: digest, config, parameters, held-out loss")(_info_args)
def cmd_info(args: argparse.Namespace) -> None:
    from engram_probe.describe import model_info

    info = model_info(load_model_arg(args))
    loss, twin_loss = info["heldout"]["loss"], info["heldout"]["loss_no_engram"]
    twin = f"{twin_loss:.4f}" if twin_loss is not None else "not trained"
    shape = info["shape"]
    human = "\n".join(
        [
            f"model     {info['model']['path']} ({info['model']['architecture']})",
            f"sha256    {info['model']['sha256']}",
            f"layers    {shape['n_layers']} (Engram at {shape['engram_layers']}), context {shape['n_ctx']} "
            f"({shape['positions']}; audits up to {shape['max_tokens']:,} tokens)",
            f"tables    >= {shape['rows_per_head_min']:,} rows per hash head, stored {info['storage']}",
            f"params    {info['params']['total']:,} ({info['params']['engram_tables']:,} in Engram tables)",
            f"held-out  {loss:.4f} nats/token (no-Engram twin {twin})" if loss is not None else "held-out  -",
        ]
    )
    emit(args, info, human)


# ---------------------------------------------------------------------------- memory
STORE_HELP = {
    "read": "SQLite memory store (opened read-only; it must exist)",
    "change": "SQLite memory store (it must exist)",
    "create": "SQLite memory store (created if no file is there; an existing file must be a store)",
}


def add_store_args(p: argparse.ArgumentParser, user: bool = True, mode: str = "read") -> None:
    add_model_arg(p)
    p.add_argument("--store", required=True, help=STORE_HELP[mode])
    if user:
        p.add_argument("--user", required=True)
    p.add_argument("--json", action="store_true", help="print JSON")


def open_store_arg(args: argparse.Namespace, mode: str = "read") -> tuple[Any, Any]:
    """The model and the store, opened in ``mode`` (read-only unless the command changes the store)."""
    from engram_probe.api import open_store
    from engram_probe.memory.store import StoreError

    lm = load_model_arg(args)
    try:
        return lm, open_store(args.store, lm, mode)  # type: ignore[arg-type]
    except StoreError as exc:
        raise CliError(str(exc)) from exc


def warn_problems(store: Any, user_ids: list[str]) -> list[str]:
    """Print the ledger check's findings loudly (stderr) and return them."""
    found = [p for u in user_ids for p in store.problems(u)]
    for p in dict.fromkeys(found):
        print(f"WARNING: ledger check failed: {printable(p)}", file=sys.stderr)
    return list(dict.fromkeys(found))


def printable(text: str) -> str:
    from engram_probe.memory.ids import printable as shown

    return shown(text)


def user_errors() -> tuple[type[Exception], ...]:
    from engram_probe.memory.store import StoreError

    return (StoreError, KeyError, ValueError)


def _write_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, mode="create")
    p.add_argument("--prompt", action="append", help="trigger prompt (repeat for paraphrases)")
    p.add_argument("--answer")
    p.add_argument("--facts", help="JSON file of facts (list of {prompt, answer}, or a user file)")
    p.add_argument(
        "--strategy",
        default=None,
        choices=["unembed", "opt", "joint"],
        help="default: opt for one fact, joint for --facts",
    )
    p.add_argument(
        "--layer", default=DEFAULT_LAYER, help=f"early, late, or an Engram layer index (default {DEFAULT_LAYER})"
    )
    p.add_argument("--steps", type=int, default=None, help="optimisation steps (opt/joint)")


@command("write", "write one fact (or a facts file, jointly) into a user's memory")(_write_args)
def cmd_write(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from engram_probe.api import specs_from_file, write_facts, write_summary
    from engram_probe.memory.writing import FactSpec, WriteSettings

    if bool(args.facts) == bool(args.prompt):
        raise CliError("give either --prompt/--answer or --facts")
    try:
        if args.facts:
            specs = specs_from_file(args.facts)
            strategy = args.strategy or "joint"
        else:
            if args.answer is None:
                raise CliError("--answer is required with --prompt")
            specs = [FactSpec.of(args.prompt, args.answer)]
            strategy = args.strategy or "opt"
        settings = WriteSettings()
        if args.steps is not None:
            # an explicit budget is exact: no continuation past it
            settings = replace(settings, opt_steps=args.steps, joint_steps=args.steps, opt_max_steps=0)
        lm, store = open_store_arg(args, "create")
        bar = progress_bar(f"{strategy} write")
        try:
            result, entry = write_facts(lm, store, args.user, specs, strategy, args.layer, settings, bar)
        finally:
            bar.close()
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    out = write_summary(result, entry)
    human = "\n".join(
        f"{f['fact_id']}  {f['triggers'][0]!r} -> {f['answer']!r}  rank {f['recall']['rank_before']} -> "
        f"{f['recall']['rank_after']}  ({len(f['rows'])} rows, {f['bytes']} B)"
        for f in out["facts"]
    )
    emit(args, out, human)


def progress_bar(desc: str, unit: str = "step") -> Any:
    """A tqdm bar usable as a progress callback ``(done, total, message="")``.

    The bar appears on the first call, i.e. once work has started: an input error found before
    that prints one line and no bar.
    """
    state: dict[str, Any] = {}

    def update(done: int, total: int, message: str = "") -> None:
        from tqdm.auto import tqdm

        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(
                total=total, desc=desc, unit=unit, unit_scale=unit == "B", leave=False, mininterval=0.5
            )
        if bar.total != total:
            bar.total = total
        bar.n = done
        if message:
            bar.set_postfix_str(message, refresh=False)
        now = time.monotonic()
        if done >= total or now - state.get("shown", 0.0) >= 0.5:  # at most two redraws a second
            state["shown"] = now
            bar.refresh()

    update.close = lambda: state["bar"].close() if "bar" in state else None  # type: ignore[attr-defined]
    return update


def _erase_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, mode="change")
    p.add_argument("--fact", action="append", help="fact id to erase (repeat); omit to erase the whole user")


@command("erase", "erase facts, or a whole user, exactly")(_erase_args)
def cmd_erase(args: argparse.Namespace) -> None:
    _, store = open_store_arg(args, "change")
    try:
        entry = store.erase(args.user, args.fact)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, entry.as_dict(), f"erased {len(entry.fact_ids)} fact(s) of {args.user}; memory now {entry.digest_after}")


def _users_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, user=False)


@command("users", "list the users in a store")(_users_args)
def cmd_users(args: argparse.Namespace) -> None:
    _, store = open_store_arg(args)
    users = store.users()
    problems = store.verify_ledger()
    for p in problems:
        print(f"WARNING: ledger check failed: {printable(p)}", file=sys.stderr)
    human = "\n".join(
        f"{printable(u['user']):<16} "
        + (
            f"{u['facts']:>4} facts {u['rows']:>6} rows {u['bytes']:>8} B"
            if u["facts"] is not None
            else "unreadable"
        )
        + ("  TAMPERED: fails the ledger check" if u["problems"] else "")
        for u in users
    )
    emit(args, {"users": users, "ledger_problems": problems}, human or "no users")


def _facts_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)


@command("facts", "list a user's facts")(_facts_args)
def cmd_facts(args: argparse.Namespace) -> None:
    _, store = open_store_arg(args)
    try:
        mem = store.load(args.user, check=False)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    problems = warn_problems(store, [args.user])
    facts = [f.meta() for f in mem.facts]
    human = "\n".join(
        f"{f['fact_id']}  {f['strategy']:<7} L{f['layer']}  {printable(repr(f['triggers'][0]))} -> "
        f"{printable(repr(f['answer']))}"
        for f in facts
    )
    if problems:
        human = "TAMPERED: these facts fail the ledger check and are not used by any audit\n" + human
    summary = mem.summary()
    payload = {"user": args.user, "digest": summary["digest"], "summary": summary, "facts": facts}
    emit(args, payload | {"problems": problems}, human or "no facts")


def _export_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)
    p.add_argument("--out", required=True, help="safetensors file to write")


@command("export", "export a user's memory as one safetensors file")(_export_args)
def cmd_export(args: argparse.Namespace) -> None:
    from engram_probe.memory.transfer import export_memory

    lm, store = open_store_arg(args)
    try:
        memory = store.load(args.user)  # refused if it fails the ledger check: an export must not launder it
        entries = store.ledger(args.user)
        provenance = {"ledger_head": store.head(), "user_entry": entries[-1].entry_hash if entries else ""}
        out = export_memory(memory, args.out, lm.weights_sha256, lm.model.hasher, provenance)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, out, f"wrote {out['facts']} facts of {args.user} to {args.out}")


def _import_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, user=False, mode="create")
    p.add_argument("--file", required=True, help="safetensors memory file")
    p.add_argument("--as-user", default=None, help="import under another user id")


@command("import", "import a user's memory file after validating it against the model")(_import_args)
def cmd_import(args: argparse.Namespace) -> None:
    from engram_probe.memory.transfer import import_memory

    lm, store = open_store_arg(args, "create")
    try:
        entry = import_memory(store, args.file, lm.model, lm.weights_sha256, args.as_user)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, entry.as_dict(), f"imported {len(entry.fact_ids)} facts for {entry.user_id}")


def _init_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--store", required=True, help="path of the new store (no file may be there yet)")
    p.add_argument("--json", action="store_true", help="print JSON")


@command("init", "create an empty memory store bound to a model")(_init_args)
def cmd_init(args: argparse.Namespace) -> None:
    if Path(args.store).exists():
        raise CliError(f"{args.store} already exists; a store is only created where no file is")
    lm, store = open_store_arg(args, "create")
    emit(args, {"store": str(store.path), "base_sha256": store.base_sha256}, f"created an empty store at {args.store}")


# ---------------------------------------------------------------------------- recall
def _recall_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--users", required=True, help="folder of user files in the paper's format (or one file)")
    p.add_argument("--limit", type=int, default=None, help="only the first N users")
    p.add_argument(
        "--modes",
        default=",".join(["none", "unembed_isolated", "opt_isolated", "opt_together", "joint_together"]),
        help="comma-separated modes",
    )
    p.add_argument("--layer", default=DEFAULT_LAYER, help="early, late, or an Engram layer index")
    p.add_argument("--json", metavar="OUT", default=None, help="write the full result as JSON")
    p.add_argument("--markdown", metavar="OUT", default=None, help="write the table as markdown (docs/recall.md)")


@command("recall", "top-1/top-5 recall of users' facts per write strategy")(_recall_args)
def cmd_recall(args: argparse.Namespace) -> None:
    from engram_probe.data.synthetic_users import load_users
    from engram_probe.evaluation import evaluate_recall

    lm = load_model_arg(args)
    try:
        users = load_users(args.users)[: args.limit]
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bar = progress_bar("recall", unit="user")
    done = [0]

    def step(message: str) -> None:
        done[0] += 1
        bar(done[0], len(users) * len(modes), message)

    try:
        out = evaluate_recall(lm, users, modes, layer=args.layer, progress=step)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    out["model_sha256"] = lm.weights_sha256
    out["users_source"] = str(args.users)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    if args.markdown:
        from engram_probe.evaluation import render_recall_markdown

        command_line = "engram-probe recall " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["recall"] else "recall"
        Path(args.markdown).write_text(render_recall_markdown(out, command_line))
    print("| mode | top-1 | top-5 | facts | ms/fact |\n|---|---|---|---|---|")
    for r in out["modes"].values():
        print(f"| {r['description']} | {r['top1']:.3f} | {r['top5']:.3f} | {r['n']} | {r['ms_per_fact']:.1f} |")


# ---------------------------------------------------------------------------- audit
def load_memory_arg(args: argparse.Namespace, lm: Any) -> tuple[Any, dict[str, Any]]:
    """The memory to audit: a store user (--store/--user) or an exported file (--memory)."""
    from engram_probe.memory.transfer import read_memory_file

    try:
        if getattr(args, "memory", None):
            path = str(Path(args.memory).resolve())
            return read_memory_file(path, lm.model, lm.weights_sha256), {"kind": "file", "path": path}
        if not (args.store and args.user):
            raise CliError("give --store and --user, or --memory FILE")
        from engram_probe.api import open_store

        store = open_store(args.store, lm, "read")
        return store.load(args.user), {"kind": "store", "path": str(Path(args.store).resolve()), "user": args.user}
    except user_errors() as exc:
        raise CliError(str(exc)) from exc


def _audit_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--store", help="SQLite memory store")
    p.add_argument("--user", help="user id in the store")
    p.add_argument("--memory", help="exported memory file (instead of --store/--user)")
    p.add_argument("--text", required=True, help="probe text")
    p.add_argument("--fact", default=None, help="fact whose gold token is ranked (default: the most-hit fact)")
    p.add_argument("--json", metavar="OUT", default=None, help="write the JSON report here ('-' for stdout)")
    p.add_argument("--html", metavar="OUT", default=None, help="also write standalone HTML")
    p.add_argument("--pdf", metavar="OUT", default=None, help="also write a PDF (needs Debian chromium)")
    p.add_argument("--contrast", action="store_true", help="add wrong-layer, wrong-address and LoRA contrasts")


@command("audit", "audit a probe text against a user's memory and write the report")(_audit_args)
def cmd_audit(args: argparse.Namespace) -> None:
    from engram_probe.audit.engine import AuditOptions, ProbeError, run_audit
    from engram_probe.report.document import finalize

    lm = load_model_arg(args)
    memory, source = load_memory_arg(args, lm)
    bar = progress_bar("contrasts")
    try:
        body = run_audit(
            lm,
            memory,
            args.text,
            source,
            AuditOptions(contrast=args.contrast),
            args.fact,
            progress=bar if args.contrast else None,
        )
    except (ProbeError, KeyError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    doc = finalize(body)
    write_report_files(doc, args.json, args.html, args.pdf)
    if args.json != "-":
        s = doc["summary"]
        print(
            f"untouched bit-exact: {s['untouched_bit_exact']}  positions {s['positions']}  "
            f"compared {s['values_compared']:,} values / {s['bytes_compared']:,} bytes  "
            f"report digest {doc['digests']['report'][:16]}…"
        )


def write_report_files(
    doc: dict[str, Any],
    json_out: str | None,
    html_out: str | None,
    pdf_out: str | None,
    render_html: Callable[[dict[str, Any], str], Any] | None = None,
) -> None:
    """Write a report as JSON ('-' prints it), HTML and PDF; ``render_html`` defaults to the audit report's."""
    from engram_probe.report.printing import PdfError, html_to_pdf, save_json_report

    if render_html is None:
        from engram_probe.report.render import write_html as render_html
    if json_out == "-":
        print(json.dumps(doc, indent=1, sort_keys=True))
    elif json_out:
        save_json_report(doc, json_out)
    html_path = html_out or (str(Path(pdf_out).with_suffix(".html")) if pdf_out else None)
    if html_path:
        render_html(doc, html_path)
    if pdf_out:
        try:
            html_to_pdf(html_path, pdf_out)
        except PdfError as exc:
            raise CliError(str(exc)) from exc


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("report", help="JSON report to render")
    p.add_argument("--html", default=None)
    p.add_argument("--pdf", default=None)


@command("report", "render an existing JSON report as HTML and/or PDF")(_report_args)
def cmd_report(args: argparse.Namespace) -> None:
    from engram_probe.report.document import ReportError, load_report

    contract_doc = _contract_report(args.report)
    if contract_doc is not None:
        from engram_probe.hashaudit.render import write_contract_html

        if not (args.html or args.pdf):
            raise CliError("give --html and/or --pdf")
        write_report_files(contract_doc, None, args.html, args.pdf, write_contract_html)
        return
    try:
        doc = load_report(args.report)
    except ReportError as exc:
        raise CliError(str(exc)) from exc
    if not (args.html or args.pdf):
        raise CliError("give --html and/or --pdf")
    write_report_files(doc, None, args.html, args.pdf)


def _contract_report(path: str) -> dict[str, Any] | None:
    """The report as a dict if it is a contract-audit report, else None (unreadable files are left to the caller)."""
    from engram_probe.hashaudit.report import CONTRACT_REPORT_FORMAT

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == CONTRACT_REPORT_FORMAT else None


def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("report", help="JSON report to verify")
    add_model_arg(p)
    p.add_argument(
        "--store",
        default=None,
        help="the memory store to re-run against (read-only; default: the store the report names, if it is a store)",
    )
    p.add_argument("--memory", default=None, help="an exported memory file to re-run against (instead of a store)")
    p.add_argument("--json", action="store_true")


@command("verify", "re-run a report's audit and check every digest and claim (exit 1 on any mismatch)")(_verify_args)
def cmd_verify(args: argparse.Namespace) -> int:
    contract_doc = _contract_report(args.report)
    if contract_doc is not None:
        from engram_probe.hashaudit.report import verify_contract_report

        result = verify_contract_report(contract_doc)
    else:
        from engram_probe.report.verify import verify_report

        result = verify_report(args.report, args.model, store_path=args.store, memory_path=args.memory)
    human = "\n".join(f"[{'ok' if c['ok'] else 'FAIL'}] {c['check']}: {c['detail']}" for c in result["checks"])
    human += "\n" + ("VERIFIED" if result["ok"] else "NOT VERIFIED")
    emit(args, result, human)
    return 0 if result["ok"] else 1


def _scan_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--store")
    p.add_argument("--user")
    p.add_argument("--memory")
    p.add_argument("--corpus", required=True, help="UTF-8 text file")
    p.add_argument("--examples", type=int, default=5)
    p.add_argument("--json", action="store_true")


@command("scan", "hash-only blast radius of a memory over a text corpus (no forward pass)")(_scan_args)
def cmd_scan(args: argparse.Namespace) -> None:
    from engram_probe.audit.scan import scan_corpus

    lm = load_model_arg(args)
    memory, _ = load_memory_arg(args, lm)
    bar = progress_bar("scan", unit="B")
    try:
        out = scan_corpus(lm, memory, args.corpus, args.examples, bar)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    human = f"{out['positions_hit']:,} of {out['corpus']['tokens']:,} tokens can read an edited row\n" + "\n".join(
        f"  {f['positions']:>8,}  {f['trigger']!r} -> {f['answer']!r}" for f in out["facts"]
    )
    emit(args, out, human)


@command("contrast", "wrong-layer, wrong-address and per-user LoRA contrasts for a user's facts")(_audit_args)
def cmd_contrast(args: argparse.Namespace) -> None:
    body = _run_contrast(args)
    text = json.dumps(body, indent=1, sort_keys=True)
    if args.json and args.json != "-":
        Path(args.json).write_text(text + "\n")
        print(
            f"right layer top-1 {body['right_layer']['recall_top1']:.2f}, wrong layer "
            f"{body['wrong_layer']['recall_top1']:.2f}, LoRA changes {body['lora']['untouched_changed_fraction']:.1%}"
            f" of untouched values, Engram {body['engram']['untouched_changed_fraction']:.1%}"
        )
    else:
        print(text)


def _run_contrast(args: argparse.Namespace) -> dict[str, Any]:
    from engram_probe.audit.engine import AuditOptions, ProbeError, run_audit

    lm = load_model_arg(args)
    memory, source = load_memory_arg(args, lm)
    bar = progress_bar("contrasts")
    try:
        body = run_audit(lm, memory, args.text, source, AuditOptions(contrast=True), args.fact, progress=bar)
    except (ProbeError, KeyError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    return {k: v for k, v in body["contrasts"].items() if k not in ("lora", "engram")} | {
        "lora": {k: v for k, v in body["contrasts"]["lora"].items() if k != "delta_matrix"},
        "engram": {k: v for k, v in body["contrasts"]["engram"].items() if k != "delta_matrix"},
    }


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (others than loopback need --auth-file)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--workdir", default=None, help="where the memory store goes (default: a new temporary folder)")
    p.add_argument("--auth-file", default=None, help="JSON file of operator accounts (see the README's Security model)")
    add_model_arg(p)


@command("serve", "serve the Gradio workbench")(_serve_args)
def cmd_serve(args: argparse.Namespace) -> None:
    from workbench.access import AccessError
    from workbench.app import serve

    try:
        serve(host=args.host, port=args.port, model_dir=args.model, workdir=args.workdir, auth_file=args.auth_file)
    except AccessError as exc:
        raise CliError(str(exc)) from exc


# ---------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    import engram_probe.cli_contract  # noqa: F401 (registers the ``contract`` command)
    import engram_probe.cli_layered  # noqa: F401 (registers the ``layered`` command)
    import engram_probe.cli_scale  # noqa: F401 (registers the ``population`` command)

    parser = argparse.ArgumentParser(prog="engram-probe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (handler, add_args, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args)
    except CliError as exc:
        print(f"engram-probe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    # run through the imported module so that commands registered by other modules share its registry
    from engram_probe.cli import main as registered_main

    sys.exit(registered_main())
