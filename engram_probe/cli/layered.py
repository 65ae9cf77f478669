"""``engram-probe layered train-adapter|evaluate|verify``: the shared adapter and the A-F audit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engram_probe.cli.framework import (
    CliError,
    add_model_arg,
    add_sign_args,
    command,
    emit,
    load_model_arg,
    operator_arg,
    progress_bar,
    signed_line,
    signing_arg,
    write_report_files,
)

ACTIONS = {
    "train-adapter": "train the shared reasoning adapter (PEFT LoRA on Q/K/V) on held-out users' samples",
    "evaluate": "conditions A-F plus F-swap and F-zero for each test user: per-user table and aggregates",
    "verify": "check a layered report's digests and re-run its first user; exit 1 on any difference",
}


def _users_args(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument(
        "--users",
        default=default,
        help=f"generated:N[:seed[:prefix]] or a directory/file of users in the paper's format (default {default})",
    )
    p.add_argument("--uids", help="which users, e.g. u020-u029 or u001,u004 (default: all)")
    p.add_argument("--limit", type=int, default=None, help="at most this many users")


FOLDER_DEFAULT = "default: the PEFT LoRA saved in the --engram adapter folder, when it holds one"


def _layered_args(p: argparse.ArgumentParser) -> None:
    from engram_probe.layered.settings import AdapterSettings
    from engram_probe.layered.users import ADAPTER_USERS, TEST_USERS

    d = AdapterSettings()
    sub = p.add_subparsers(dest="action", required=True)
    q = sub.add_parser("train-adapter", help=ACTIONS["train-adapter"], description=ACTIONS["train-adapter"])
    add_model_arg(q)
    _users_args(q, ADAPTER_USERS)
    q.add_argument("--out", required=True, help="adapter file to write (.safetensors)")
    q.add_argument("--steps", type=int, default=d.steps)
    q.add_argument("--lr", type=float, default=d.lr)
    q.add_argument("--rank", type=int, default=d.rank)
    q.add_argument("--seed", type=int, default=d.seed)
    q.add_argument("--json", action="store_true")
    e = sub.add_parser("evaluate", help=ACTIONS["evaluate"], description=ACTIONS["evaluate"])
    add_model_arg(e)
    _users_args(e, TEST_USERS)
    e.add_argument("--adapter", help=f"shared adapter file from train-adapter ({FOLDER_DEFAULT})")
    e.add_argument("--indirect", type=int, default=20, help="indirect questions per user (the paper: 20)")
    e.add_argument("--facts", type=int, default=None, help="keep each user's first N facts (quick runs)")
    e.add_argument("--json", action="store_true", help="print the whole report as JSON")
    e.add_argument("--report", metavar="OUT.json")
    e.add_argument("--html", metavar="OUT.html")
    e.add_argument("--pdf", metavar="OUT.pdf")
    e.add_argument("--markdown", metavar="OUT.md", help="write the results page (as docs/layered.md)")
    e.add_argument("--adapter-command", default="", help="the train-adapter command, quoted in --markdown")
    add_sign_args(e)
    v = sub.add_parser("verify", help=ACTIONS["verify"], description=ACTIONS["verify"])
    add_model_arg(v)
    v.add_argument("report", help="layered report JSON")
    v.add_argument("--adapter", help=f"the adapter file the report was made with ({FOLDER_DEFAULT})")
    v.add_argument("--json", action="store_true")


def _adapter(path: str | None, lm: Any) -> tuple[Any, str]:
    """The shared adapter and where it came from: ``--adapter FILE``, else the --engram folder's own PEFT LoRA."""
    from engram_probe.layered.adapter import AdapterError, folder_adapter, load_adapter

    try:
        if path is not None:
            return load_adapter(path, lm), str(Path(path).resolve())
        adapter = folder_adapter(lm)
    except AdapterError as exc:
        raise CliError(str(exc)) from exc
    if adapter is None:
        raise CliError(
            "give the shared adapter with --adapter FILE (from layered train-adapter); only an --engram adapter "
            "folder that holds a PEFT LoRA (adapter_config.json) supplies its own"
        )
    return adapter, str(Path(lm.engram_path).resolve())


def _users(spec: str, uids: str | None, limit: int | None, facts: int | None = None) -> list[dict[str, Any]]:
    from engram_probe.layered.users import UsersError, load_layered_users

    if facts is not None and facts < 1:
        raise CliError("--facts must be at least 1")
    try:
        return load_layered_users(spec, uids, limit, facts)
    except UsersError as exc:
        raise CliError(str(exc)) from exc


def _human_table(doc: dict[str, Any]) -> str:
    from engram_probe.layered.report import CONDITION_HEADER, comparison_rows, condition_rows

    rows = [CONDITION_HEADER[:1] + CONDITION_HEADER[2:]] + [r[:1] + r[2:] for r in condition_rows(doc)]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines += [f"{k}: {m} (95% CI {ci}, {n} users)" for k, m, ci, n in comparison_rows(doc)]
    agg = doc["aggregate"]
    lines.append(
        f"indirect probes that never read the user's rows: {agg['share_of_indirect_probes_never_reading_rows']:.1%} "
        f"of {agg['indirect_probes']}"
    )
    lines.append("invariants: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in doc["invariants"].items()))
    return "\n".join(lines)


def _quoted_command() -> str:
    """This evaluate command as a shell line, without the quoted train-adapter command."""
    import shlex
    import sys

    if sys.argv[1:2] != ["layered"]:
        return "engram-probe layered evaluate"
    argv = sys.argv[1:]
    if "--adapter-command" in argv:
        i = argv.index("--adapter-command")
        del argv[i : i + 2]
    return "engram-probe " + shlex.join(argv)


@command("layered", "the paper's layered system: a shared reasoning adapter over per-user rows")(_layered_args)
def cmd_layered(args: argparse.Namespace) -> int:
    if args.action == "train-adapter":
        return _train(args)
    if args.action == "evaluate":
        return _evaluate(args)
    return _verify(args)


def _train(args: argparse.Namespace) -> int:
    from engram_probe.layered.adapter import AdapterSettings, train_shared_adapter
    from engram_probe.layered.samples import adapter_corpus

    if args.steps < 1:
        raise CliError("--steps must be at least 1")
    users = _users(args.users, args.uids, args.limit)
    lm = load_model_arg(args)
    settings = AdapterSettings(steps=args.steps, lr=args.lr, rank=args.rank, alpha=2 * args.rank, seed=args.seed)
    samples = adapter_corpus(users, seed=settings.seed)
    bar = progress_bar("shared adapter")
    adapter = train_shared_adapter(lm, samples, [u["uid"] for u in users], settings, bar)
    bar.close()
    adapter.provenance["users_source"] = (
        args.users if args.users.startswith("generated:") else str(Path(args.users).resolve())
    )
    out = adapter.save(args.out)
    info = {"path": str(out), **adapter.describe()}
    emit(
        args,
        info,
        f"saved {out}: {adapter.params:,} parameters trained on {len(users)} users "
        f"({len(samples)} samples, {settings.steps} steps), sha256 {adapter.digest[:16]}…",
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from engram_probe.layered.evaluate import LayeredSettings, evaluate_layered
    from engram_probe.memory.answers import AnswerError
    from engram_probe.report.kinds import write_html

    signing = signing_arg(args, args.report)
    users = _users(args.users, args.uids, args.limit, args.facts)
    lm = load_model_arg(args)
    adapter, adapter_path = _adapter(args.adapter, lm)
    source = args.users if args.users.startswith("generated:") else str(Path(args.users).resolve())
    bar = progress_bar("layered evaluation", unit="pass")
    settings = LayeredSettings(indirect_per_user=args.indirect)
    try:
        doc = evaluate_layered(lm, adapter, users, settings, bar, source, adapter_path, facts_per_user=args.facts)
    except AnswerError as exc:  # a user's answer this model's tokenizer cannot hold: one line, not a traceback
        bar.close()
        raise CliError(f"{args.users}: a fact cannot be written on this model: {exc}") from exc
    bar.close()
    signed = write_report_files(doc, args.report, args.html, args.pdf, write_html, signing, operator=operator_arg(args))
    if args.markdown:
        from engram_probe.layered.markdown import render_layered_markdown

        command = _quoted_command()
        Path(args.markdown).write_text(render_layered_markdown(doc, command, args.adapter_command), encoding="utf-8")
    if args.json:
        emit(args, doc, "")
    else:
        print(_human_table(doc))
    signed_line(signed, signing)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from engram_probe.layered.verify import VerifyError, verify_layered

    lm = load_model_arg(args)
    adapter, _ = _adapter(args.adapter, lm)
    try:
        result = verify_layered(args.report, lm, adapter, progress_bar("re-running the first user", unit="pass"))
    except VerifyError as exc:
        raise CliError(str(exc)) from exc
    human = "\n".join(f"[{'ok' if c['ok'] else 'FAIL'}] {c['check']}: {c['detail']}" for c in result["checks"])
    emit(args, result, human + "\n" + ("VERIFIED" if result["ok"] else "NOT VERIFIED"))
    return 0 if result["ok"] else 1
