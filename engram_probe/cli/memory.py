"""``engram-probe write|erase|history|users|facts|export|import|init``: a memory store and the users' facts in it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engram_probe.cli.framework import (
    CliError,
    add_model_arg,
    add_store_args,
    command,
    emit,
    lazy_help,
    open_store_arg,
    overlay_formats_help,
    printable,
    progress_bar,
    user_errors,
)


def warn_problems(store: Any, user_ids: list[str]) -> list[str]:
    """Print the ledger check's findings loudly (stderr) and return them."""
    found = [p for u in user_ids for p in store.problems(u)]
    for p in dict.fromkeys(found):
        print(f"WARNING: ledger check failed: {printable(p)}", file=sys.stderr)
    return list(dict.fromkeys(found))


def _write_args(p: argparse.ArgumentParser) -> None:
    from engram_probe.contracts.workbench_config import DEFAULT_LAYER

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
    p.add_argument(
        "--supersede",
        action="store_true",
        help="replace the user's existing fact for the same trigger (it is erased first; the ledger records both). "
        "Without it, a trigger the user already has is refused",
    )


def write_lines(out: dict[str, Any]) -> list[str]:
    """The write in plain words: each fact, recalled or NOT RECALLED with the rank reached, what it replaced and
    which other users' rows it shares."""
    from engram_probe.report.numbers import plural, size

    lines = []
    for f in out["facts"]:
        r = f["recall"]
        verdict = "recalled" if f["recalled"] else "NOT RECALLED"
        said = f"; generates {printable(repr(r['generated']))}" if "generated" in r else ""
        lines.append(
            f"{f['fact_id']}  {printable(repr(f['triggers'][0]))} -> {printable(repr(f['answer']))}  {verdict}: "
            f"rank {r['rank_before']} -> {r['rank_after']}{said}  ({plural(len(f['rows']), 'row')}, {size(f['bytes'])})"
        )
        for s in f["shared_with_other_users"]:
            kinds = [
                plural(s["by_content"], "row") + " shared by content (the same n-gram)" if s["by_content"] else "",
                plural(s["by_hash_collision"], "row") + " by hash collision" if s["by_hash_collision"] else "",
            ]
            rest = len(s["rows"]) - s["by_content"] - s["by_hash_collision"]
            kinds.append(plural(rest, "row") + " not read by that fact's triggers" if rest else "")
            rows = ", ".join(f"{x['layer']}:{x['row']}" for x in s["rows"][:8]) + (" …" if len(s["rows"]) > 8 else "")
            lines.append(
                f"    shares rows with user {printable(s['user'])} (fact {s['other_fact_id']}): "
                + ", ".join(k for k in kinds if k)
                + f"; rows {rows}"
            )
    sup = out.get("superseded")
    if sup:
        old = ", ".join(f"{c['fact_id']} ({printable(repr(c['answer']))})" for c in sup["facts"])
        lines.append(
            f"replaced {old}: erased in ledger entry {sup['ledger']['seq']}, written in {out['ledger']['seq']}"
        )
    return lines


@command("write", "write one fact (or a facts file, jointly) into a user's memory")(_write_args)
def cmd_write(args: argparse.Namespace) -> None:
    """Write ``--prompt``/``--answer`` (or every fact of ``--facts``) into the user's memory."""
    from dataclasses import replace

    from engram_probe.memory.operations import ConflictError, specs_from_file, write_facts, write_summary
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
            result, entry = write_facts(
                lm, store, args.user, specs, strategy, args.layer, settings, bar, args.operator, args.supersede
            )
        finally:
            bar.close()
    except ConflictError as exc:
        raise CliError(f"{exc} Give --supersede to replace it.") from exc
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    out = write_summary(result, entry)
    emit(args, out, "\n".join(write_lines(out)))


def _erase_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, mode="change")
    p.add_argument("--fact", action="append", help="fact id to erase (repeat); omit to erase the whole user")
    p.add_argument("--certificate", default=None, help="write a signed erasure certificate (JSON) here; needs --key")
    p.add_argument("--key", default=None, help="the Ed25519 private key that signs the certificate (key generate)")


def proof_lines(proof: dict[str, Any]) -> list[str]:
    """An erase's proof in plain words (the sentences the UI shows), the forwards indented."""
    from engram_probe.report.erase_words import proof_sentences

    ok, sentences = proof_sentences(proof)
    if ok is None:
        return sentences
    head, rows, *forwards, digests = sentences
    return [f"{head} {rows}", *(f"  {printable(f)}" for f in forwards), f"  {digests}"]


@command("erase", "erase facts, or a whole user, exactly, and prove it bit-exact")(_erase_args)
def cmd_erase(args: argparse.Namespace) -> None:
    """Erase the named facts, or the whole user, and print the proof that the erase is bit-exact."""
    from engram_probe.memory.erasure import erase_with_proof

    if bool(args.certificate) != bool(args.key):
        raise CliError("an erasure certificate is signed: give both --certificate and --key")
    private = load_key_arg(args.key) if args.key else None  # a missing key is refused before anything is erased
    lm, store = open_store_arg(args, "change")
    try:
        entry, proof = erase_with_proof(lm, store, args.user, args.fact, args.operator)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    head = f"erased {len(entry.fact_ids)} fact(s) of {printable(args.user)}; memory now {entry.digest_after}"
    emit(args, entry.as_dict() | {"proof": proof}, "\n".join([head, *proof_lines(proof)]))
    if proof.get("bit_exact") is False:
        raise CliError("the erase is stored but its proof failed; see the lines above")
    if private is not None:
        from engram_probe.attest.erasure import CertificateError, write_certificate

        try:
            write_certificate(args.certificate, entry, proof, lm.weights_sha256, private)
        except CertificateError as exc:
            raise CliError(f"the erase is stored, but its certificate was not written: {exc}") from exc
        print(f"wrote the signed erasure certificate to {args.certificate}", file=sys.stderr)


def load_key_arg(path: str) -> Any:
    """The Ed25519 private key at ``path``, or a one-line refusal saying nothing was done."""
    from engram_probe.attest.keys import KeyFileError, load_private

    try:
        return load_private(path)
    except KeyFileError as exc:
        raise CliError(f"{exc}; nothing was erased") from exc


def _history_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)
    p.add_argument("--reads", action="store_true", help="also list the recorded reads of the user's memory")


@command("history", "a user's facts and ledger entries: who wrote or erased what, when, digests before and after")(
    _history_args
)
def cmd_history(args: argparse.Namespace) -> None:
    """List the user's ledger entries in words, and each current fact with the entry that wrote it."""
    from engram_probe.memory.erasure import user_history

    _, store = open_store_arg(args)
    try:
        h = user_history(store, args.user, reads=args.reads)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    lines = [
        f"#{e['seq']:<5} {e['at'][:19]}  {printable(e['what'])}  {e['digest_before'][:12]} -> {e['digest_after'][:12]}"
        for e in h["entries"]
    ]
    if h["reads_hidden"]:
        lines.append(f"({h['reads_hidden']} recorded reads not shown; --reads lists them)")
    for p in h["problems"]:
        lines.append(f"WARNING: ledger check failed: {printable(p)}")
    emit(args, h, "\n".join(lines) or "no entries")


def _users_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, user=False)


@command("users", "list the users in a store")(_users_args)
def cmd_users(args: argparse.Namespace) -> None:
    """List the store's users, naming any that fail the ledger check."""
    _, store = open_store_arg(args)
    users = store.users()
    problems = store.verify_ledger()
    for p in problems:
        print(f"WARNING: ledger check failed: {printable(p)}", file=sys.stderr)
    human = "\n".join(
        f"{printable(u['user']):<16} "
        + (f"{u['facts']:>4} facts {u['rows']:>6} rows {u['bytes']:>8} B" if u["facts"] is not None else "unreadable")
        + ("  TAMPERED: fails the ledger check" if u["problems"] else "")
        for u in users
    )
    emit(args, {"users": users, "ledger_problems": problems}, human or "no users")


def _facts_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)


@command("facts", "list a user's facts")(_facts_args)
def cmd_facts(args: argparse.Namespace) -> None:
    """List the user's facts, flagged when they fail the ledger check."""
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
    """Write the user's memory (checked against the ledger) as one safetensors file."""
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
    p.add_argument(
        "--file",
        required=True,
        help=lazy_help(
            lambda: (
                f"the memory file: {overlay_formats_help()}; an overlay of another tool needs this model's "
                "contract and facts (FILE.facts.json beside it) for every row"
            )
        ),
    )
    p.add_argument("--as-user", default=None, help="import under another user id")
    p.add_argument(
        "--require-signature",
        action="store_true",
        help="refuse the file unless its signature (FILE.sig, from sign-overlay) sits beside it; a signed file whose "
        "bytes changed is always refused",
    )


@command("import", "import a user's memory file after validating it against the model")(_import_args)
def cmd_import(args: argparse.Namespace) -> None:
    """Validate a memory file (or another tool's overlay for this model's contract) and add it to the store."""
    from engram_probe.memory.signed_file import SignedFileError, check_unchanged
    from engram_probe.overlays.bridge import import_file

    if args.require_signature and Path(args.file).is_file():
        try:
            check_unchanged(args.file, require=True)  # before the model is loaded; the readers check it again
        except SignedFileError as exc:
            raise CliError(str(exc)) from exc
    lm, store = open_store_arg(args, "create")
    try:
        entry = import_file(store, args.file, lm, args.as_user, args.operator)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, entry.as_dict(), f"imported {len(entry.fact_ids)} facts for {entry.user_id}")


def _init_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--store", required=True, help="path of the new store (no file may be there yet)")
    p.add_argument("--json", action="store_true", help="print JSON")


@command("init", "create an empty memory store bound to a model")(_init_args)
def cmd_init(args: argparse.Namespace) -> None:
    """Create an empty store bound to the model, only where no file is."""
    if Path(args.store).exists():
        raise CliError(f"{args.store} already exists; a store is only created where no file is")
    lm, store = open_store_arg(args, "create")
    emit(args, {"store": str(store.path), "base_sha256": store.base_sha256}, f"created an empty store at {args.store}")
