"""Contrasts: the same facts in the wrong layer, at wrong addresses, and as a per-user LoRA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engram_probe.arch.base import EngramModelBase, RowOverlay
from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.lora import LoraResult, LoraSettings, train_user_lora
from engram_probe.audit.paired import paired_run, residual_hooks
from engram_probe.audit.proof import ChangedFraction, delta_matrix
from engram_probe.audit.readmap import classify_positions, read_map
from engram_probe.contracts.workbench_config import DEFAULT_LAYER
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, Progress, WriteSettings, recall, resolve_layer

# Hooks whose values depend on the token ids alone (no weight a LoRA could adapt feeds them).
TOKEN_DETERMINED = ("hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre")


def token_determined_hooks(model: EngramModelBase) -> list[str]:
    """Hooks computed from token ids and non-adapted weights only, before any attention projection.

    The attention-targeted LoRA cannot change these: the embeddings, the Engram addresses, rows
    and keys (W_K of the rows), and, when block 0 reads Engram, the whole block-0 Engram path and
    the input to its attention.
    """
    names = list(TOKEN_DETERMINED)
    for layer in model.cfg.engram_layers:
        names += [f"blocks.{layer}.engram.{h}" for h in ("hook_addresses", "hook_rows", "hook_key")]
    names.append("blocks.0.ln1.hook_normalized")
    if 0 in model.cfg.engram_layers:
        names += [f"blocks.0.engram.{h}" for h in ("hook_gate", "hook_value", "hook_conv", "hook_out")]
    return names


def _score(rec: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Both recall measures of ``writing.recall``'s dicts: the first answer token's top-1 and top-5 (the paper's),
    and the exact whole answer under greedy generation."""
    n = max(1, len(rec))
    return {
        "recall_top1": sum(r["rank"] == 1 for r in rec) / n,
        "recall_top5": sum(r["rank"] <= 5 for r in rec) / n,
        "recall_exact": sum(bool(r["exact"]) for r in rec) / n,
    }


def as_recorded(fresh: dict[str, Any], recorded: dict[str, Any]) -> dict[str, Any]:
    """Re-run contrasts in the form of a report written before they had the exact whole-answer measure: each
    section's ``recall_exact`` is left out where the report's section has none (its facts are one-token answers, on
    which the re-run figures are the same), so verify compares what that report claimed."""
    out = dict(fresh)
    for key, section in fresh.items():
        old = recorded.get(key)
        if isinstance(section, dict) and isinstance(old, dict) and "recall_exact" not in old:
            out[key] = {k: v for k, v in section.items() if k != "recall_exact"}
    return out


def specs_of(memory: UserMemory, limit: int = 40) -> list[FactSpec]:
    specs = []
    for f in memory.facts[:limit]:
        spec = FactSpec.of(f.triggers, f.answer)
        # a one-token fact (written before whole answers) is re-written as the one token it owns
        specs.append(replace(spec, answer_limit=1) if len(f.answer_token_ids) == 1 else spec)
    return specs


def dominant_strategy(memory: UserMemory) -> str:
    strategies = [f.strategy for f in memory.facts]
    # ties go to the strategy written first (a set's order of strings changes from process to process)
    if not strategies:
        return "opt"
    return max(dict.fromkeys(strategies), key=lambda s: (strategies.count(s), -strategies.index(s)))


def fact_recall(lm: LoadedModel, facts: Sequence[Fact], overlay: RowOverlay | None) -> list[int]:
    return [r["rank"] for r in _fact_recall(lm, facts, overlay)]


def _fact_recall(
    lm: LoadedModel, facts: Sequence[Fact], overlay: RowOverlay | None, model: EngramModelBase | None = None
) -> list[dict[str, Any]]:
    """``writing.recall`` of each fact's whole answer after its first trigger (on ``model``, default the shared one)."""
    prompts = [lm.tokenizer.encode(f.triggers[0]) for f in facts]
    return recall(model or lm.model, prompts, [f.answer_token_ids for f in facts], overlay, lm.tokenizer)


def recall_stats(lm: LoadedModel, facts: Sequence[Fact], overlay: RowOverlay | None) -> dict[str, float]:
    """First-token top-1 and top-5, exact whole answer, and mean gold probability of the facts' first triggers."""
    rec = _fact_recall(lm, facts, overlay)
    return {**_score(rec), "gold_prob_mean": sum(r["prob"] for r in rec) / max(1, len(rec))}


def layer_contrast(
    lm: LoadedModel,
    specs: Sequence[FactSpec],
    strategy: str,
    settings: WriteSettings,
    right: str | int = DEFAULT_LAYER,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the same facts, same strategy and budget, into the right and the other Engram layer."""
    right_layer = resolve_layer(lm.model, right)
    others = [x for x in lm.cfg.engram_layers if x != right_layer]
    if not others:
        raise ValueError("the model has a single Engram layer; there is no wrong layer")
    writer = FactWriter(lm.model, lm.tokenizer, settings)
    out: dict[str, Any] = {"strategy": strategy, "settings": settings.__dict__}
    for label, layer in (("right_layer", right_layer), ("wrong_layer", others[0])):
        res = writer.write(UserMemory("contrast"), specs, strategy, layer, progress)
        ranks = [r["rank"] for r in res.recall_after]
        out[label] = {
            "layer": layer,
            **_score(res.recall_after),
            "ranks": ranks,
            "gold_prob_mean": sum(r["prob"] for r in res.recall_after) / len(ranks),
            "rows": UserMemory("contrast", res.facts).n_rows,
            "row_norm_mean": float(torch.cat([f.values for f in res.facts]).norm(dim=1).mean()),
        }
        if "no_edit" not in out:
            before = [r["rank"] for r in res.recall_before]
            out["no_edit"] = {
                **_score(res.recall_before),
                "ranks": before,
                "gold_prob_mean": sum(r["prob"] for r in res.recall_before) / len(before),
            }
    return out


def shifted_rows(lm: LoadedModel, fact: Fact, avoid: set[tuple[int, int]]) -> Fact:
    """The same values moved to neighbouring rows of the same heads that no trigger reads."""
    hasher = lm.model.hasher
    new_ids = []
    for layer, row in fact.rows:
        column = hasher.column_of_row(layer, row)
        local = row - column.offset
        for step in range(1, column.size):
            cand = column.offset + (local + step) % column.size
            if (layer, cand) not in avoid:
                break
        new_ids.append([layer, cand])
    return replace(fact, row_ids=torch.tensor(new_ids, dtype=torch.int64), fact_id=fact.fact_id + "-shifted")


def address_contrast(
    lm: LoadedModel,
    specs: Sequence[FactSpec],
    strategy: str,
    settings: WriteSettings,
    layer: str | int = DEFAULT_LAYER,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Control: rows trained for the trigger, written at addresses the triggers never read."""
    writer = FactWriter(lm.model, lm.tokenizer, settings)
    res = writer.write(UserMemory("contrast"), specs, strategy, layer, progress)
    read: set[tuple[int, int]] = set()
    for f in res.facts:
        for trig in f.triggers:
            ids = np.asarray(lm.tokenizer.encode(trig))
            for at in lm.cfg.engram_layers:
                read |= {(at, int(r)) for r in lm.model.hasher.addresses(ids, at).ravel()}
    moved = [shifted_rows(lm, f, read) for f in res.facts]
    wrong = UserMemory("contrast", moved)
    return {
        "strategy": strategy,
        "right_address": recall_stats(lm, res.facts, MemoryOverlay([UserMemory("c", res.facts)])),
        "wrong_address": recall_stats(lm, res.facts, MemoryOverlay([wrong])),
        "no_edit": recall_stats(lm, res.facts, None),
        "rule": "each row moved to the next row of the same hash head that none of the triggers reads",
    }


def placement_contrasts(
    lm: LoadedModel,
    memory: UserMemory,
    n_facts: int,
    settings: WriteSettings,
    progress: Progress | None = None,
    strategy: str | None = None,
) -> dict[str, Any]:
    """The user's first facts re-written at their own layer, at the other Engram layer, and at wrong rows.

    ``strategy`` defaults to the one most of the user's facts were written with.
    """
    specs = specs_of(memory, n_facts)
    strategy = strategy or dominant_strategy(memory)
    right = memory.main_layer()
    right_layer: str | int = DEFAULT_LAYER if right is None else right
    layers = layer_contrast(lm, specs, strategy, settings, right_layer, progress=progress)
    address = address_contrast(lm, specs, strategy, settings, right_layer, progress=progress)
    return {
        "facts_used": len(specs),
        "strategy": strategy,
        "right_layer": layers["right_layer"],
        "wrong_layer": layers["wrong_layer"],
        "no_edit": layers["no_edit"],
        "wrong_address": address["wrong_address"],
        "right_address": address["right_address"],
        "wrong_address_rule": address["rule"],
    }


@torch.no_grad()
def token_nll(model: EngramModelBase, ids: torch.Tensor, overlay: RowOverlay | None = None) -> torch.Tensor:
    """Per-token negative log-likelihood of ids[1:] given the prefix ([T-1])."""
    logits = model(ids, overlay=overlay)[0, :-1]
    return F.cross_entropy(logits, ids[0, 1:], reduction="none")


def heldout_change(
    lm: LoadedModel,
    texts: Sequence[str],
    overlay: MemoryOverlay,
    lora_model: EngramModelBase,
) -> dict[str, Any]:
    """Held-out loss change of both methods; Engram's change attributed to read-map hits."""
    tot = {"base": 0.0, "engram": 0.0, "lora": 0.0}
    n = 0
    eng_after_hit = eng_no_hit = 0.0
    tokens_after_hit = tokens_hit = 0
    max_abs_no_hit = 0.0
    for text in texts:
        ids_list = lm.tokenizer.encode(text)[: lm.model.max_tokens]
        if len(ids_list) < 2:
            continue
        ids = torch.tensor([ids_list])
        base = token_nll(lm.model, ids)
        eng = token_nll(lm.model, ids, overlay)
        lora = token_nll(lora_model, ids)
        hits = read_map(lm.model.hasher, overlay, ids_list)
        classes = classify_positions(len(ids_list), hits)
        # nll[t] is the prediction made at position t (of token t+1)
        reached = torch.tensor([c != "untouched" for c in classes[:-1]])
        delta = eng.double() - base.double()
        eng_after_hit += float(delta[reached].sum())
        eng_no_hit += float(delta[~reached].sum())
        if (~reached).any():
            max_abs_no_hit = max(max_abs_no_hit, float(delta[~reached].abs().max()))
        tokens_after_hit += int(reached.sum())
        tokens_hit += len({h.position for h in hits})
        tot["base"] += float(base.double().sum())
        tot["engram"] += float(eng.double().sum())
        tot["lora"] += float(lora.double().sum())
        n += base.numel()
    mean = {k: v / max(1, n) for k, v in tot.items()}
    return {
        "tokens": n,
        "texts": len(texts),
        "loss_base": mean["base"],
        "engram_delta": mean["engram"] - mean["base"],
        "lora_delta": mean["lora"] - mean["base"],
        "engram_attribution": {
            "read_map_hit_positions": tokens_hit,
            "positions_at_or_after_a_hit": tokens_after_hit,
            "delta_at_or_after_hits": eng_after_hit / max(1, n),
            "delta_elsewhere": eng_no_hit / max(1, n),
            "max_abs_token_delta_elsewhere": max_abs_no_hit,
        },
    }


def lora_training_set(lm: LoadedModel, facts: Sequence[Fact]) -> tuple[list[list[int]], list[list[int]]]:
    """What the per-user LoRA is trained on: every trigger of every fact with the fact's whole answer (taught at
    its teacher-forced positions, as the rows are)."""
    prompts = [lm.tokenizer.encode(t) for f in facts for t in f.triggers]
    return prompts, [list(f.answer_token_ids) for f in facts for _ in f.triggers]


def lora_contrast(
    lm: LoadedModel,
    memory: UserMemory,
    probe_ids: Sequence[int],
    untouched: Sequence[int],
    heldout_texts: Sequence[str],
    settings: LoraSettings | None = None,
    lora: LoraResult | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], LoraResult]:
    """Train (or reuse) a per-user LoRA to the Engram memory's direct recall, then compare contamination."""
    facts = memory.facts
    overlay = MemoryOverlay([memory])
    engram_recall = _score(_fact_recall(lm, facts, overlay))
    target = engram_recall["recall_top1"]
    if lora is None:
        prompts, answers = lora_training_set(lm, facts)
        lora = train_user_lora(lm.model, prompts, answers, lm.tokenizer.bos_id, target, settings, progress)
    lora_recall = _score(_fact_recall(lm, facts, None, lora.model))
    exclude = token_determined_hooks(lm.model)
    probe = torch.tensor([list(probe_ids)])
    residual = residual_hooks(lm.cfg.n_layers)  # what the delta matrices read; every other hook is counted and dropped
    lora_counts, lora_all, engram_counts = (
        ChangedFraction(untouched, exclude),
        ChangedFraction(untouched),
        ChangedFraction(untouched, exclude),
    )
    on_probe = paired_run(lm.model, probe, None, [lora_counts, lora_all], residual, edited_model=lora.model)
    eng_probe = paired_run(lm.model, probe, overlay, [engram_counts], residual)
    held_ids = lm.tokenizer.encode(heldout_texts[0])[: lm.model.max_tokens] if heldout_texts else []
    lora_untouched = lora_counts.result()
    engram_untouched = engram_counts.result()
    out: dict[str, Any] = {
        "lora": {
            **lora.describe(),
            "recall_exact": lora_recall["recall_exact"],
            "untouched_changed_fraction": lora_untouched["changed_fraction"],
            "untouched": lora_untouched,
            "untouched_all_hooks": lora_all.result(),
            "delta_matrix": delta_matrix(on_probe, lm.cfg.n_layers),
        },
        "engram": {
            "recall_top1": target,
            "recall_exact": engram_recall["recall_exact"],
            "bytes": memory.bytes,
            "rows": memory.n_rows,
            "untouched_changed_fraction": engram_untouched["changed_fraction"],
            "untouched": engram_untouched,
            "delta_matrix": delta_matrix(eng_probe, lm.cfg.n_layers),
        },
        "excluded_hooks_rule": "(hook, position) values that no adapted weight can change are left out of the "
        "changed fraction and counted: hooks computed from the token ids before any attention projection "
        "(embeddings, Engram addresses, rows and keys, the block-0 attention input) and the attention "
        "pattern at position 0 (a softmax over one key, always 1)",
    }
    if held_ids and len(held_ids) > 1:
        held = torch.tensor([held_ids])
        all_pos = list(range(len(held_ids)))
        lora_held, eng_held = ChangedFraction(all_pos, exclude), ChangedFraction(all_pos, exclude)
        paired_run(lm.model, held, None, [lora_held], (), edited_model=lora.model)
        hits = read_map(lm.model.hasher, overlay, held_ids)
        paired_run(lm.model, held, overlay, [eng_held], ())
        out["lora"]["heldout_changed_fraction"] = lora_held.result()["changed_fraction"]
        out["engram"]["heldout_changed_fraction"] = eng_held.result()["changed_fraction"]
        out["engram"]["heldout_read_map_hits"] = len(hits)
    out["heldout_loss"] = heldout_change(lm, heldout_texts, overlay, lora.model)
    return out, lora
