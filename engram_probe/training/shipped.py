"""Build the shipped default model: corpus -> tokenizer -> Engram model and no-Engram twin."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engram_probe.arch.workbench_checkpoint import round_to_storage, save_checkpoint
from engram_probe.contracts.workbench import build_canonical_map
from engram_probe.contracts.workbench_config import EngramConfig
from engram_probe.data.corpus import generate_corpus, split_corpus
from engram_probe.tokenizer import EngramTokenizer
from engram_probe.training.loop import TrainSettings, evaluate_loss, heldout_windows, token_stream, train_model


@dataclass(frozen=True)
class PretrainPlan:
    n_docs: int = 60000
    corpus_seed: int = 0
    vocab_size: int = 4096
    heldout_fraction: float = 0.02
    settings: TrainSettings = TrainSettings(steps=2500)
    train_twin: bool = True
    # Train the twin in a second process, one thread each (2 cores: ~1.6x faster than one after the other).
    parallel_twin: bool = False
    storage: str = "float32"
    command: str = ""  # the command line that ran this plan, recorded for the model card


def greedy_samples(model: Any, tokenizer: EngramTokenizer, prompts: list[str], n_new: int = 12) -> list[dict[str, str]]:
    out = []
    for p in prompts:
        ids = torch.tensor([tokenizer.encode(p)])
        gen = model.generate(ids, n_new)
        out.append({"prompt": p, "continuation": tokenizer.decode(gen[0, ids.shape[1] :].tolist())})
    return out


SAMPLE_PROMPTS = [
    "My name is",
    "I live in",
    "Q: What is my favorite color?\nA:",
    "The weather in the morning was",
    "My dentist is",
]


def _train_twin(
    cfg: EngramConfig, canonical: Any, stream: Any, heldout: torch.Tensor, plan: PretrainPlan, threads: int | None
) -> dict[str, Any]:
    if threads is not None:
        torch.set_num_threads(threads)
    twin, log = train_model(cfg, canonical, stream, heldout, plan.settings, desc="no-Engram twin")
    _round_and_log(twin, heldout, log, plan.storage)
    log["params"] = twin.parameter_counts()
    log["config"] = cfg.to_dict()
    return log


def _round_and_log(model: Any, heldout: torch.Tensor, log: dict[str, Any], storage: str) -> None:
    """Round to the storage precision; the reported held-out loss is that of the stored weights."""
    if storage != "float32":
        log["heldout_loss_float32"] = log["heldout_loss"]
        round_to_storage(model, storage)
        log["heldout_loss"] = evaluate_loss(model, heldout)
    log["storage"] = storage


def build_default_model(out_dir: str | Path, cfg: EngramConfig, plan: PretrainPlan) -> dict[str, Any]:
    """Generate the corpus, train tokenizer, model and twin; save the model; return the facts."""
    t0 = time.perf_counter()
    docs = generate_corpus(plan.n_docs, seed=plan.corpus_seed)
    train_docs, held_docs = split_corpus(docs, heldout_fraction=plan.heldout_fraction, seed=plan.corpus_seed)
    tokenizer = EngramTokenizer.train(train_docs, plan.vocab_size)
    cfg = cfg.replace(d_vocab=tokenizer.vocab_size)
    canonical = build_canonical_map(tokenizer.token_texts())
    train_stream = token_stream(tokenizer, train_docs)
    held_stream = token_stream(tokenizer, held_docs)
    heldout = heldout_windows(held_stream, cfg.n_ctx, plan.settings.eval_windows)
    prep_seconds = time.perf_counter() - t0

    twin_cfg = cfg.replace(engram_layers=())
    twin_log: dict[str, Any] | None = None
    pending = None
    if plan.train_twin and plan.parallel_twin:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        pending = pool.submit(_train_twin, twin_cfg, canonical, train_stream, heldout, plan, 1)
        torch.set_num_threads(1)
    model, log = train_model(cfg, canonical, train_stream, heldout, plan.settings, desc="engram model")
    _round_and_log(model, heldout, log, plan.storage)
    if pending is not None:
        twin_log = pending.result()
        pool.shutdown()
    elif plan.train_twin:
        twin_log = _train_twin(twin_cfg, canonical, train_stream, heldout, plan, None)
    facts: dict[str, Any] = {
        "command": plan.command,
        "corpus": {
            "generator": "engram_probe.data.corpus.generate_corpus",
            "n_docs": plan.n_docs,
            "seed": plan.corpus_seed,
            "train_docs": len(train_docs),
            "heldout_docs": len(held_docs),
            "train_tokens": int(len(train_stream)),
            "heldout_tokens_evaluated": int(heldout.numel()),
            "chars": sum(len(d) for d in docs),
        },
        "tokenizer": {"vocab_size": tokenizer.vocab_size, "compressed_vocab": int(canonical.max()) + 1},
        "prep_seconds": round(prep_seconds, 1),
        "model": log,
        "params": model.parameter_counts(),
        "twin": twin_log,
        "heldout": {
            "loss": log["heldout_loss"],
            "loss_no_engram": twin_log["heldout_loss"] if twin_log else None,
        },
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "threads": torch.get_num_threads(),
        },
        "samples": greedy_samples(model, tokenizer, SAMPLE_PROMPTS),
    }
    # Sanity: the saved model must reproduce the held-out loss it reports.
    facts["heldout"]["loss_check"] = evaluate_loss(model, heldout)
    save_checkpoint(out_dir, model, tokenizer, facts, storage=plan.storage)
    Path(out_dir, "training.json").write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")
    return facts
