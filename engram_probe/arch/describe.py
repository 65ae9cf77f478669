"""Plain descriptions of a loaded model (for ``info``, the UI and reports)."""

from __future__ import annotations

from typing import Any

from engram_probe.arch.loaded import LoadedModel


def model_info(lm: LoadedModel) -> dict[str, Any]:
    cfg = lm.cfg
    heldout = lm.training.get("heldout", {})
    return {
        "model": {
            "sha256": lm.weights_sha256,
            "path": str(lm.path) if lm.path else None,
            "architecture": lm.model.architecture,
            # a base and its adapter, each with its folder and digest (engram-peft models)
            "parts": {
                name: {"path": str(lm.path if name == "base" else lm.engram_path), "sha256": digest}
                for name, digest in lm.model.part_digests().items()
            },
        },
        "shape": {
            "n_layers": cfg.n_layers,
            "d_model": cfg.d_model,
            "n_ctx": cfg.n_ctx,
            "d_vocab": cfg.d_vocab,
            "engram_layers": list(cfg.engram_layers),
            "rows_per_head_base": cfg.table_size_per_head,
            "rows_per_head_min": min(int(lm.model.hasher.primes(layer).min()) for layer in cfg.engram_layers)
            if cfg.engram_layers
            else 0,
            "positions": getattr(cfg, "positional_embedding_type", "rotary"),
            "max_tokens": lm.model.max_tokens,
        },
        "storage": lm.training.get("model", {}).get("storage", "float32"),
        "config": cfg.to_dict(),
        "params": lm.model.parameter_counts(),
        "engram": {
            layer: {"rows": lm.model.hasher.table_rows(layer), "primes": lm.model.hasher.primes(layer).tolist()}
            for layer in cfg.engram_layers
        },
        "rows_per_position_per_layer": cfg.n_engram_heads,
        "tokenizer": {"vocab_size": lm.tokenizer.vocab_size, "sha256": lm.tokenizer.digest()},
        "hash_sha256": lm.model.hasher.address_digest(),
        "contract": lm.model.hasher.reference(),
        "heldout": {"loss": heldout.get("loss"), "loss_no_engram": heldout.get("loss_no_engram")},
        "training": {k: lm.training.get(k) for k in ("corpus", "prep_seconds", "machine") if k in lm.training}
        | {"train_seconds": lm.training.get("model", {}).get("train_seconds")},
    }
