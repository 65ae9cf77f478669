"""``engram-probe train`` and ``engram-probe info``: make a model, describe a model."""

from __future__ import annotations

import argparse
import sys

from engram_probe.cli.framework import CliError, add_model_arg, command, emit, load_model_arg


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
    """Generate the corpus, train the model (and its twin) and save it under ``--out``."""
    from engram_probe.contracts.workbench_config import EngramConfig
    from engram_probe.training.loop import TrainSettings
    from engram_probe.training.shipped import PretrainPlan, build_default_model

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


def _info_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--json", action="store_true")


@command("info", "describe a model: digest, config, parameters, held-out loss")(_info_args)
def cmd_info(args: argparse.Namespace) -> None:
    """Print the model's digest, shape, storage, parameter counts and held-out loss."""
    from engram_probe.arch.describe import model_info

    info = model_info(load_model_arg(args))
    loss, twin_loss = info["heldout"]["loss"], info["heldout"]["loss_no_engram"]
    twin = f"{twin_loss:.4f}" if twin_loss is not None else "not trained"
    shape = info["shape"]
    human = "\n".join(
        [
            f"model     {info['model']['path']} ({info['model']['architecture']})",
            f"sha256    {info['model']['sha256']}",
            *(f"{name:<9} {part['path']}  sha256 {part['sha256']}" for name, part in info["model"]["parts"].items()),
            f"layers    {shape['n_layers']} (Engram at {shape['engram_layers']}), context {shape['n_ctx']} "
            f"({shape['positions']}; audits up to {shape['max_tokens']:,} tokens)",
            f"tables    >= {shape['rows_per_head_min']:,} rows per hash head, stored {info['storage']}",
            f"params    {info['params']['total']:,} ({info['params']['engram_tables']:,} in Engram tables)",
            f"held-out  {loss:.4f} nats/token (no-Engram twin {twin})" if loss is not None else "held-out  -",
        ]
    )
    emit(args, info, human)
