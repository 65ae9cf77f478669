"""``engram-probe recall|audit|report|scan|contrast``: measure, audit and check a memory on a model.

``scan`` is an alias of ``contract scan --contract workbench``: one scan implementation (``engram_probe.scale``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engram_probe.cli.framework import (
    CliError,
    add_model_arg,
    add_sign_args,
    command,
    load_model_arg,
    operator_arg,
    progress_bar,
    signed_line,
    signing_arg,
    user_errors,
    write_report_files,
)


def _recall_args(p: argparse.ArgumentParser) -> None:
    from engram_probe.contracts.workbench_config import DEFAULT_LAYER

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
    """Write each user's facts per mode and print the recall table (optionally JSON and markdown files)."""
    from engram_probe.data.synthetic_users import load_users
    from engram_probe.memory.evaluation import evaluate_recall

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
        from engram_probe.memory.evaluation import render_recall_markdown

        command_line = "engram-probe recall " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["recall"] else "recall"
        Path(args.markdown).write_text(render_recall_markdown(out, command_line))
    print("| mode | whole answer (exact) | first token top-1 | first token top-5 | facts | write ms/fact |")
    print("|---|---|---|---|---|---|")
    for r in out["modes"].values():
        print(
            f"| {r['description']} | {r['exact']:.1%} | {r['top1']:.1%} | {r['top5']:.1%} | {r['n']:,} | "
            f"{r['ms_per_fact']:,.1f} |"
        )


def load_memory_arg(args: argparse.Namespace, lm: Any) -> tuple[Any, dict[str, Any]]:
    """The memory to audit: a store user (--store/--user) or an exported file (--memory)."""
    from engram_probe.memory.transfer import read_memory_file

    try:
        if getattr(args, "memory", None):
            path = str(Path(args.memory).resolve())
            return read_memory_file(path, lm.model, lm.weights_sha256), {"kind": "file", "path": path}
        if not (args.store and args.user):
            raise CliError("give --store and --user, or --memory FILE")
        from engram_probe.memory.operations import open_store

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
    p.add_argument(
        "--heldout",
        metavar="FILE",
        default=None,
        help="held-out texts for the contrasts: a .json list of texts, or a text file with one text per line "
        "(default: the pinned default set)",
    )
    add_sign_args(p)


def heldout_arg(args: argparse.Namespace, contrast: bool) -> Any:
    """The operator's held-out set (``--heldout``), read and checked before the model loads; None: the default."""
    from engram_probe.audit.heldout import HeldoutError, read_heldout_file

    if not args.heldout:
        return None
    if not contrast:
        raise CliError("--heldout is read only by the contrasts: add --contrast, or leave --heldout out")
    try:
        return read_heldout_file(args.heldout)
    except HeldoutError as exc:
        raise CliError(str(exc)) from exc


@command("audit", "audit a probe text against a user's memory and write the report")(_audit_args)
def cmd_audit(args: argparse.Namespace) -> None:
    """Run the byte-level audit of the probe text and write the report files."""
    from engram_probe.audit.engine import AuditOptions, ProbeError, run_audit
    from engram_probe.report.document import finalize

    signing = signing_arg(args, args.json)
    heldout = heldout_arg(args, args.contrast)
    lm = load_model_arg(args)
    memory, source = load_memory_arg(args, lm)
    bar = progress_bar("contrasts")
    try:
        body = run_audit(
            lm,
            memory,
            args.text,
            source,
            AuditOptions(contrast=args.contrast, heldout=heldout),
            args.fact,
            progress=bar if args.contrast else None,
        )
    except (ProbeError, KeyError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    doc = finalize(body)
    signed = write_report_files(doc, args.json, args.html, args.pdf, signing=signing, operator=operator_arg(args))
    if args.json != "-":
        s = doc["summary"]
        print(
            f"untouched bit-exact: {s['untouched_bit_exact']}  positions {s['positions']}  "
            f"compared {s['values_compared']:,} values / {s['bytes_compared']:,} bytes  "
            f"report digest {doc['digests']['report'][:16]}…"
        )
    signed_line(signed, signing)


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("report", help="JSON report to render")
    p.add_argument("--html", default=None)
    p.add_argument("--pdf", default=None)


@command("report", "render an existing JSON report as HTML and/or PDF")(_report_args)
def cmd_report(args: argparse.Namespace) -> None:
    """Render an audit or contract report as HTML and/or PDF."""
    from engram_probe.report.document import load_report
    from engram_probe.report.kernel import ReportError

    contract_doc = _contract_report(args.report)
    if contract_doc is not None:
        from engram_probe.hashaudit.render import write_contract_html

        if not (args.html or args.pdf):
            raise CliError("give --html and/or --pdf")
        write_report_files(contract_doc, None, args.html, args.pdf, write_contract_html, operator=None)
        return
    try:
        doc = load_report(args.report)
    except ReportError as exc:
        raise CliError(str(exc)) from exc
    if not (args.html or args.pdf):
        raise CliError("give --html and/or --pdf")
    write_report_files(doc, None, args.html, args.pdf, operator=None)


def _contract_report(path: str) -> dict[str, Any] | None:
    """The report as a dict if it is a contract-audit report, else None (unreadable files are left to the caller)."""
    from engram_probe.hashaudit.report import CONTRACT_REPORT_FORMAT

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == CONTRACT_REPORT_FORMAT else None


def _scan_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--store", help="SQLite memory store")
    p.add_argument("--user", help="user id in the store (default: every user in it)")
    p.add_argument("--memory", help="exported memory file (instead of --store)")
    p.add_argument(
        "--corpus",
        required=True,
        help="a UTF-8 text file, or a shard or folder of shards as `contract scan --corpus` takes them",
    )
    p.add_argument("--examples", type=int, default=5, help="sampled hits kept per fact (default 5)")
    p.add_argument("--json", action="store_true")


SCAN_HELP = (
    "hash-only blast radius of a memory over a corpus (no forward pass): an alias of "
    "`engram-probe contract scan --contract workbench --config MODEL`"
)


# the hash-only contract of each other architecture, for the scan alias's refusal
_CONTRACT_OF_ARCHITECTURE = {"nanochat-engram": "user-as-engram", "engram-peft": "engram-peft"}


def _scan_model_is_a_workbench_model(model: str | None) -> None:
    """The alias scans with the workbench contract; another architecture's folder is refused in one line."""
    if model is None:
        return
    from engram_probe.arch.loading import registered

    root = Path(model)
    found = next((loader.name for loader in registered() if root.is_dir() and loader.recognises(root)), None)
    if found is None or found == "workbench":
        return  # the contract's own reader gives the message for a folder that is no model at all
    contract = _CONTRACT_OF_ARCHITECTURE.get(found)
    hint = f"; scan it with engram-probe contract scan --contract {contract}" if contract else ""
    raise CliError(f"{root} is a {found} model; scan reads the workbench contract of a workbench model{hint}")


@command("scan", SCAN_HELP)(_scan_args)
def cmd_scan(args: argparse.Namespace) -> None:
    """``contract scan --contract workbench`` on the model's own contract, with the memory as its overlay."""
    from engram_probe.cli.contract import cmd_contract

    if not (args.memory or args.store):
        raise CliError("give --store (and --user), or --memory FILE")
    if args.memory and args.store:
        raise CliError("give --store or --memory, not both")
    _scan_model_is_a_workbench_model(args.model)
    cmd_contract(
        argparse.Namespace(
            action="scan",
            contract="workbench",
            config=args.model,
            tokenizer=None,
            overlay=[args.memory] if args.memory else [],
            store=args.store,
            user=[args.user] if args.user else None,
            lora_rank=16,
            corpus=[args.corpus],
            scheduler=None,
            workers=None,
            resume=None,
            examples=args.examples,
            json=args.json,
            report=None,
            html=None,
            pdf=None,
        )
    )


@command("contrast", "wrong-layer, wrong-address and per-user LoRA contrasts for a user's facts")(_audit_args)
def cmd_contrast(args: argparse.Namespace) -> None:
    """Print (or write to ``--json``) the audit's contrasts without their delta matrices."""
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

    heldout = heldout_arg(args, True)
    lm = load_model_arg(args)
    memory, source = load_memory_arg(args, lm)
    bar = progress_bar("contrasts")
    try:
        options = AuditOptions(contrast=True, heldout=heldout)
        body = run_audit(lm, memory, args.text, source, options, args.fact, progress=bar)
    except (ProbeError, KeyError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    return {k: v for k, v in body["contrasts"].items() if k not in ("lora", "engram")} | {
        "lora": {k: v for k, v in body["contrasts"]["lora"].items() if k != "delta_matrix"},
        "engram": {k: v for k, v in body["contrasts"]["engram"].items() if k != "delta_matrix"},
    }
