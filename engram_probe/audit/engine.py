"""The audit: one probe text, a user's memory, and everything the report claims about them."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.contrasts import lora_contrast, placement_contrasts
from engram_probe.audit.heldout import LEGACY_DEFAULT, HeldoutSet, default_heldout, texts_digest
from engram_probe.audit.lora import LoraResult, LoraSettings
from engram_probe.audit.paired import figure_hooks, paired_run
from engram_probe.audit.proof import ByteProof, change_sizes, delta_matrix
from engram_probe.audit.readmap import CLASS_RULE, UNTOUCHED, classify_positions, conv_reach, read_map
from engram_probe.audit.switch import gate_range, gates, gold_ranks, value_path
from engram_probe.memory.overlay import PRECEDENCE_RULE, MemoryOverlay
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import Progress, WriteSettings
from engram_probe.report.kernel import environment

REPORT_FORMAT = "engram-probe-report/2"
# earlier formats that still verify: /1 wrote a read-map hit's column as ``head`` (see ``hit_in_format_1``)
OLDER_REPORT_FORMATS = ("engram-probe-report/1",)


@dataclass(frozen=True)
class AuditOptions:
    """What an audit is asked to measure; ``heldout`` None means the default held-out set."""

    contrast: bool = False
    contrast_facts: int = 12
    write_settings: WriteSettings = WriteSettings()
    lora_settings: LoraSettings = LoraSettings()
    heldout: HeldoutSet | None = None

    def heldout_set(self) -> HeldoutSet:
        """The held-out texts the contrasts measure contamination on."""
        return self.heldout or default_heldout()

    def as_dict(self) -> dict[str, Any]:
        return {
            "contrast": self.contrast,
            "contrast_facts": self.contrast_facts,
            "write_settings": self.write_settings.__dict__,
            "lora_settings": self.lora_settings.__dict__,
            "heldout": self.heldout_set().record(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], heldout: HeldoutSet | None = None) -> AuditOptions:
        """Options read back from a report; the held-out texts cannot be, so the caller re-derives them."""
        return cls(
            contrast=bool(d.get("contrast", False)),
            contrast_facts=int(d.get("contrast_facts", 12)),
            write_settings=WriteSettings(**d.get("write_settings", {})),
            lora_settings=LoraSettings(**d.get("lora_settings", {})),
            heldout=heldout,
        )


class ProbeError(ValueError):
    """A probe text that cannot be audited."""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


MAX_CHARS_PER_TOKEN = 32  # far above any tokenizer's average; only a bound on work before tokenizing


def encode_probe(lm: LoadedModel, text: str) -> list[int]:
    if not text or not text.strip():
        raise ProbeError("the probe text is empty")
    limit = lm.model.max_tokens * MAX_CHARS_PER_TOKEN
    if len(text) > limit:  # refused before tokenizing, so an enormous text costs nothing
        raise ProbeError(f"the probe has {len(text):,} characters; at most {limit:,} can fit the model's context")
    ids = lm.tokenizer.encode(text)
    if len(ids) > lm.model.max_tokens:
        raise ProbeError(f"the probe has {len(ids)} tokens (with BOS); the model's context holds {lm.model.max_tokens}")
    return ids


def heldout_texts(n: int, seed: int) -> list[str]:
    """Fresh generator output, never seen in training (filler text; audits use a pinned ``HeldoutSet``)."""
    from engram_probe.data.corpus import generate_corpus

    return [d for d in generate_corpus(n * 3, seed=seed) if "\n" not in d][:n] or generate_corpus(n, seed=seed)


def generated_heldout(n: int, seed: int) -> HeldoutSet:
    """The held-out texts a report names by count and seed (layered reports, audit reports before format /2):
    8 documents of seed 12345 are the pinned default set, so they survive a change of the generator; other
    counts or seeds are generated again, and such reports depend on the generator."""
    if (n, seed) == LEGACY_DEFAULT:
        return default_heldout()
    texts = tuple(heldout_texts(n, seed))
    return HeldoutSet(texts, texts_digest(texts), "generated")


def run_audit(
    lm: LoadedModel,
    memory: UserMemory,
    text: str,
    memory_source: dict[str, Any] | None = None,
    options: AuditOptions | None = None,
    gold_fact: str | None = None,
    lora: LoraResult | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Audit one probe text against a user's memory; return the report body (without its own digest)."""
    options = options or AuditOptions()
    if len(memory) == 0:
        raise ProbeError(f"user {memory.user_id!r} has no facts to audit")
    ids = encode_probe(lm, text)
    tokens = torch.tensor([ids])
    overlay = MemoryOverlay([memory])
    cfg = lm.cfg
    hits = read_map(lm.model.hasher, overlay, ids)
    classes = classify_positions(len(ids), hits)
    # the proof is made hook by hook during the edited forward; only the hooks the figures read are kept
    byte_proof = ByteProof(classes)
    run = paired_run(lm.model, tokens, overlay, [byte_proof], figure_hooks(cfg.n_layers, cfg.engram_layers))
    proof = byte_proof.result()
    gate = gates(run, cfg.engram_layers)
    layer = memory.main_layer()
    fact_hits = Counter(f for h in hits for f in h.facts)
    gold_id = gold_fact or (fact_hits.most_common(1)[0][0] if fact_hits else memory.facts[0].fact_id)
    gfact = memory.fact(gold_id)
    ranks = gold_ranks(run, gfact.gold_token_id)
    reach = conv_reach(len(ids), [h for h in hits if h.layer == layer], cfg.conv_kernel, cfg.conv_dilation)
    positions = []
    for t, tok in enumerate(ids):
        here = [h for h in hits if h.position == t]
        positions.append(
            {
                "index": t,
                "token": lm.tokenizer.token_text(tok),
                "token_id": tok,
                "class": classes[t],
                "rows_hit": len(here),
                "hits": [h.as_dict() for h in here],
                "gate_layer": layer,
                "gate_before": gate[layer]["before"][t] if layer is not None else None,
                "gate_after": gate[layer]["after"][t] if layer is not None else None,
                "gates": {str(L): {"before": g["before"][t], "after": g["after"][t]} for L, g in gate.items()},
                "gold_rank_before": ranks["before"][t],
                "gold_rank_after": ranks["after"][t],
                "conv_from_write_sites": reach.get(t, []),
            }
        )
    counts = Counter(classes)
    findings = []
    if not proof["identical"]:
        findings.append(
            f"{proof['mismatch_count']} (hook, position) pairs at untouched positions differ between base and "
            "edited runs: the overlay leaks outside its read map"
        )
    if not hits:
        findings.append("no position of this probe reads an edited row: the whole probe is untouched")
    bare = gfact.gold_token.strip()
    if bare == "" or (bare.isdigit() and len(bare) < 2):
        findings.append(f"the gold token {gfact.gold_token!r} is a bare space or one digit: recall is weak evidence")
    gate_module = lm.model.engram_module(layer) if layer is not None else None
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "model": {
            "path": str(lm.path) if lm.path else None,
            "sha256": lm.weights_sha256,
            "config": cfg.to_dict(),
            "hash_sha256": lm.model.hasher.address_digest(),
            "contract": lm.model.hasher.reference(),
            **({"engram_path": str(lm.engram_path)} if lm.engram_path is not None else {}),
        },
        "memory": {
            **memory.summary(),
            "sha256": memory.digest(),
            "source": memory_source or {"kind": "inline"},
            "layers": sorted({f.layer for f in memory.facts}),
            # what a reader of the report sees for each fact: its trigger and answer (the rows are the store's)
            "fact_list": [{"fact_id": f.fact_id, "trigger": f.triggers[0], "answer": f.answer} for f in memory.facts],
        },
        "probe": {"text": text, "sha256": sha256_text(text), "n_tokens": len(ids), "token_ids": ids},
        "options": options.as_dict(),
        "environment": environment(),
        "rules": {"classes": CLASS_RULE, "precedence": PRECEDENCE_RULE, "bit_exact": proof["method"]},
        "summary": {
            "positions": {k: counts.get(k, 0) for k in ("write_site", "downstream", "untouched")},
            "untouched_bit_exact": proof["identical"],
            "pairs_compared": proof["pairs_compared"],
            "values_compared": proof["values_compared"],
            "bytes_compared": proof["bytes_compared"],
            "hooks_compared": proof["hooks"],
            "read_map_hits": len(hits),
            "first_write_site": min((h.position for h in hits), default=None),
            "findings": findings,
        },
        "positions": positions,
        "read_map": [h.as_dict() for h in hits],
        "proof": proof,
        "changes": change_sizes(run, classes, cfg.engram_layers, cfg.n_layers),
        "delta_matrix": delta_matrix(run, cfg.n_layers),
        "value_path": value_path(run, lm.model, lm.tokenizer, hits),
        "gate": {"attainable_range": list(gate_range(cfg.d_model, gate_module)), "layer": layer},
        "gold": {
            "fact_id": gfact.fact_id,
            "token": gfact.gold_token,
            "token_id": gfact.gold_token_id,
            "trigger": gfact.triggers[0],
            "answer": gfact.answer,
        },
    }
    if options.contrast:
        report["contrasts"] = contrasts(lm, memory, ids, classes, options, lora, progress)
    return report


def contrasts(
    lm: LoadedModel,
    memory: UserMemory,
    ids: Sequence[int],
    classes: Sequence[str],
    options: AuditOptions,
    lora: LoraResult | None,
    progress: Progress | None,
) -> dict[str, Any]:
    placement = placement_contrasts(lm, memory, options.contrast_facts, options.write_settings, progress)
    lora_part = probe_lora_contrast(lm, memory, ids, options, lora, progress, classes)
    return {
        **placement,
        "lora": lora_part["lora"],
        "engram": lora_part["engram"],
        "heldout_loss": lora_part["heldout_loss"],
        "excluded_hooks_rule": lora_part["excluded_hooks_rule"],
    }


def probe_lora_contrast(
    lm: LoadedModel,
    memory: UserMemory,
    ids: Sequence[int],
    options: AuditOptions | None = None,
    lora: LoraResult | None = None,
    progress: Progress | None = None,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The LoRA contrast of one probe on the options' held-out set (the audit's and the UI's LoRA tab's).

    ``classes`` are the probe's position classes when the caller has them; otherwise the read map gives them.
    """
    options = options or AuditOptions()
    if classes is None:
        classes = classify_positions(len(ids), read_map(lm.model.hasher, MemoryOverlay([memory]), list(ids)))
    untouched = [t for t, c in enumerate(classes) if c == UNTOUCHED]
    held = options.heldout_set().texts
    part, _ = lora_contrast(lm, memory, ids, untouched, held, options.lora_settings, lora, progress)
    return part
