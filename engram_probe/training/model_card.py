"""Render docs/model-card.md from the facts recorded when the model was trained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engram_probe.arch.describe import model_info
from engram_probe.arch.loaded import LoadedModel
from engram_probe.contracts.workbench_config import DEFAULT_MODEL_DIR
from engram_probe.data.corpus import describe_corpus


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.2f} MB"


# The model this one replaced (issue 12), measured when it was trained; kept so that changes read as changes.
PREVIOUS_MODEL = {
    "commit": "b105b98",
    "n_ctx": 128,
    "rows_per_head": 4001,
    "positions": "learned absolute",
    "loss": 0.9163,
    "loss_twin": 0.9419,
    "file_mb": 17.98,
    "storage": "float32",
}


def _positions(c: dict[str, Any], max_tokens: int) -> str:
    if c["positional_embedding_type"] == "rotary":
        return (
            f"rotary positions (half-split, base 10,000), trained at {c['n_ctx']} tokens; audits and generation "
            f"accept up to {max_tokens:,} tokens"
        )
    return f"learned absolute positions, context {c['n_ctx']} tokens"


def _load_seconds(root: Path) -> float:
    import time

    from engram_probe.arch.workbench_checkpoint import load_checkpoint

    load_checkpoint(root)  # warm the page cache and imports
    t0 = time.perf_counter()
    load_checkpoint(root)
    return time.perf_counter() - t0


def render_model_card(lm: LoadedModel, recall: dict[str, Any] | None = None) -> str:
    info = model_info(lm)
    t = lm.training
    c = info["config"]
    p = info["params"]
    m = t["model"]
    twin = t.get("twin") or {}
    h = t["heldout"]
    root = lm.path or DEFAULT_MODEL_DIR
    files = "\n".join(f"| `{f.name}` | {_mb(f)} |" for f in sorted(root.iterdir()) if f.is_file())
    samples = "\n".join(f"| `{s['prompt']!r}` | `{s['continuation']!r}` |" for s in t.get("samples", []))
    curve = ", ".join(f"{step}: {loss:.3f}" for step, loss in m.get("heldout_curve", []))
    twin_curve = ", ".join(f"{step}: {loss:.3f}" for step, loss in twin.get("heldout_curve", []))
    gain = h["loss_no_engram"] - h["loss"] if h.get("loss_no_engram") is not None else None
    s = m["settings"]
    command = t.get("command") or f"engram-probe train --out engram_probe/assets/default --steps {s['steps']}"
    storage = m.get("storage", "float32")
    load_s = _load_seconds(root)
    prev = PREVIOUS_MODEL
    rows_per_head = min(min(lm.model.hasher.primes(layer)) for layer in c["engram_layers"])
    lines = [
        "# Model card: the shipped default Engram model",
        "",
        "Regenerate this page from the shipped files with `python -m engram_probe.training.model_card`; "
        f"retrain the model with `{command}` and copy the output directory to `engram_probe/assets/default` "
        "(the numbers below come from that run on this project's 2-core CPU machine).",
        "",
        "## Architecture",
        "",
        f"- Decoder-only transformer, {c['n_layers']} pre-norm blocks, d_model {c['d_model']}, {c['n_heads']} heads of "
        f"{c['d_head']}, MLP {c['d_mlp']} (GELU), RMSNorm without learned scale, "
        f"{_positions(c, lm.model.max_tokens)}, untied embedding and unembedding, no biases.",
        f"- Engram modules at blocks {c['engram_layers']} (one early, one late), added to the block input before "
        f"attention. Each reads {info['rows_per_position_per_layer']} rows per position: "
        f"{c['heads_per_order']} hash heads for each suffix n-gram order {c['ngram_orders']}, rows of "
        f"{c['dim_per_head']} dims, one distinct prime modulus per (layer, order, head) starting above "
        f"{c['table_size_per_head']}; gate sigmoid(signed-sqrt), zero-initialised causal depthwise conv (kernel "
        f"{c['conv_kernel']}, dilation {c['conv_dilation']}).",
        "- Table rows: " + ", ".join(f"layer {k}: {v['rows']:,}" for k, v in info["engram"].items()) + ".",
        f"- Tokenizer: byte-level BPE trained by the project, {info['tokenizer']['vocab_size']:,} tokens "
        f"({t['tokenizer']['compressed_vocab']:,} canonical ids after NFKC/accent/case/space compression).",
        "",
        "| parameters | count |",
        "|---|---|",
        f"| total | {p['total']:,} |",
        f"| Engram tables | {p['engram_tables']:,} |",
        f"| Engram total (tables, W_K, W_V, conv) | {p['engram_total']:,} |",
        f"| backbone | {p['backbone']:,} |",
        f"| no-Engram twin (same backbone) | {twin.get('params', {}).get('total', 'n/a'):,} |",
        "",
        "## Data",
        "",
        describe_corpus().strip(),
        "",
        f"Corpus for this model: {t['corpus']['n_docs']:,} documents (seed {t['corpus']['seed']}), "
        f"{t['corpus']['chars']:,} characters; {t['corpus']['train_docs']:,} training documents "
        f"({t['corpus']['train_tokens']:,} tokens) and {t['corpus']['heldout_docs']:,} held-out documents, of which "
        f"{t['corpus']['heldout_tokens_evaluated']:,} tokens are scored. No text from `../shared` is used.",
        "",
        "## Training",
        "",
        f"AdamW (betas 0.9/0.95, weight decay {s['weight_decay']} on matrices), peak lr {s['lr']} with "
        f"{s['warmup']} warm-up steps and cosine decay to 10%, Engram tables at {s['engram_lr_mult']}x lr and no "
        f"weight decay, {s['steps']:,} steps of {s['batch_size']} x {c['n_ctx']} tokens "
        f"({m['tokens_seen']:,} tokens), gradient clipping 1.0, seed {s['seed']}, {m['threads']} threads, torch "
        f"{m['torch']}.",
        "",
        "| | Engram model | no-Engram twin |",
        "|---|---|---|",
        f"| held-out loss (nats/token) | **{h['loss']:.4f}** | {h['loss_no_engram']:.4f} |"
        if h.get("loss_no_engram") is not None
        else f"| held-out loss (nats/token) | **{h['loss']:.4f}** | not trained |",
        f"| training time | {m['train_seconds'] / 60:.1f} min | {twin.get('train_seconds', 0) / 60:.1f} min |",
        "",
        f"Corpus generation, tokenizer training and encoding took {t['prep_seconds']:.0f} s. "
        + (
            f"What Engram buys on held-out loss: {gain:+.4f} nats/token "
            f"({'lower' if gain > 0 else 'higher'} loss with Engram) at the same backbone and budget. "
            if gain is not None
            else ""
        )
        + "The twin has the same backbone and budget but not the same parameter count: the Engram tables add "
        f"{p['engram_tables']:,} parameters that are read sparsely "
        f"({info['rows_per_position_per_layer']} rows per position per layer). "
        "The held-out text comes from the same generators as the training text, so these losses measure "
        "in-distribution fit, not general English. Training times are wall clock on 2 cores that other work "
        "shared part of the time"
        + (", and the twin trained in a second process beside the model, 1 thread each" if m["threads"] == 1 else "")
        + f". Loading the model took {load_s:.2f} s after imports (measured while rendering this card, "
        "`load_checkpoint()`; `import transformer_lens` itself takes about 5 s).",
        "",
        (
            f"**Storage: {storage}.** Every float tensor (tables and backbone) is stored in {storage} and upcast "
            "exactly to float32 at load; the model computes in float32 and its digest is that of the float32 "
            "weights. The weights were rounded once after training, and the held-out losses above are those of "
            f"the rounded weights (before rounding: Engram {m.get('heldout_loss_float32', float('nan')):.4f}"
            + (f", twin {twin['heldout_loss_float32']:.4f}" if "heldout_loss_float32" in twin else "")
            + ")."
            if storage != "float32"
            else "**Storage: float32.**"
        ),
        "",
        f"Held-out loss during training (step: loss): Engram {curve}; twin {twin_curve}.",
        "",
        "## Greedy samples",
        "",
        "| prompt | continuation (12 tokens) |",
        "|---|---|",
        samples,
        "",
        "## Files",
        "",
        "| file | size |",
        "|---|---|",
        files,
        "",
        f"Weights digest (`engram-probe info`): `{lm.weights_sha256}`.",
        "",
        "## Changes from the previous default model",
        "",
        f"The previous model (commit `{prev['commit']}`) had a {prev['n_ctx']}-token context with "
        f"{prev['positions']} positions, tables of at least {prev['rows_per_head']:,} rows per hash head, "
        f"{prev['storage']} storage ({prev['file_mb']} MB of weights) and held-out loss {prev['loss']} "
        f"(twin {prev['loss_twin']}) on {prev['n_ctx']}-token windows. This one: {c['n_ctx']}-token context "
        f"({'rotary' if c['positional_embedding_type'] == 'rotary' else 'absolute'}), at least {rows_per_head:,} rows "
        f"per head, {storage} storage, held-out loss {h['loss']:.4f} on {c['n_ctx']}-token windows. The two "
        "losses are measured on different window lengths, so compare each model with its own twin, not with "
        "each other.",
    ]
    if recall:
        lines += ["", "## Recall of written facts", "", "See [recall.md](recall.md)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    from engram_probe.arch.workbench_checkpoint import load_checkpoint

    out = Path(__file__).resolve().parents[2] / "docs" / "model-card.md"
    out.write_text(render_model_card(load_checkpoint()))
    print("wrote", out)


if __name__ == "__main__":
    main()
