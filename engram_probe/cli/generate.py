"""``engram-probe generate``: ask the model, with and without a user's memory, and name the rows read."""

from __future__ import annotations

import argparse
from typing import Any

from engram_probe.cli.framework import CliError, add_store_args, command, emit, open_store_arg, printable, user_errors

DEFAULT_NEW_TOKENS = 16


def _generate_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)
    p.add_argument("--prompt", required=True, help="the text the model continues")
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=DEFAULT_NEW_TOKENS,
        help=f"how many tokens to generate (greedy; default {DEFAULT_NEW_TOKENS})",
    )


def read_lines(reads: list[dict[str, Any]]) -> list[str]:
    """Each position that reads the user's rows, in words."""
    lines = []
    for r in reads:
        where = "generated token" if r["generated"] else "prompt token"
        rows = ", ".join(f"{n:,}" for n in r["rows"])
        n = len(r["rows"])
        facts = f" (facts {', '.join(printable(f) for f in r['facts'])})" if r["facts"] else ""
        lines.append(
            f"  position {r['position']:,}, {where} {printable(repr(r['token']))}: reads {n} of the user's "
            f"row{'s' if n != 1 else ''} in Engram layer {r['layer']}: {rows}{facts}"
        )
    return lines


@command("generate", "continue a prompt greedily without and with a user's memory, side by side")(_generate_args)
def cmd_generate(args: argparse.Namespace) -> None:
    """Print both continuations and every position that reads one of the user's rows."""
    from engram_probe.memory.generation import generate
    from engram_probe.memory.overlay import MemoryOverlay

    if not 1 <= args.max_new_tokens <= 256:
        raise CliError(f"--max-new-tokens must be between 1 and 256, got {args.max_new_tokens}")
    lm, store = open_store_arg(args)
    try:
        if not args.prompt.strip():
            raise ValueError("the prompt is empty")
        memory = store.load(args.user)
        overlay = MemoryOverlay([memory])
        bare = generate(lm.model, lm.tokenizer, args.prompt, None, args.max_new_tokens)
        edited = generate(lm.model, lm.tokenizer, args.prompt, overlay, args.max_new_tokens)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    out = {
        "prompt": args.prompt,
        "user": args.user,
        "memory_digest": memory.digest(),
        "max_new_tokens": args.max_new_tokens,
        "without_memory": bare.as_dict(),
        "with_memory": edited.as_dict(),
        "same": bare.new_ids == edited.new_ids,
    }
    labels = ("without memory", f"with {printable(args.user)}'s memory")
    width = max(len(x) for x in labels)
    human = [
        f"prompt: {printable(repr(args.prompt))}",
        f"{labels[0]:<{width}}  {printable(repr(bare.text))}",
        f"{labels[1]:<{width}}  {printable(repr(edited.text))}",
        "the continuations are the same" if out["same"] else "the continuations differ",
    ]
    if edited.reads:
        human.append(f"rows of {printable(args.user)}'s memory read on the way ({len(edited.reads)} positions):")
        human += read_lines(out["with_memory"]["rows_read"])
    else:
        human.append(f"no position reads a row of {printable(args.user)}'s memory")
    emit(args, out, "\n".join(human))
