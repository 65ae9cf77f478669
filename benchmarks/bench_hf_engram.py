"""engram-peft at TinyLlama-1.1B's dimensions: load time, audit / plain forward, peak memory, ``opt`` write cost.

Everything is built locally in a temporary folder, with random weights (nothing is downloaded):

- the base: a ``LlamaForCausalLM`` at TinyLlama-1.1B's shape (hidden 2048, 22 layers, 32 heads, 4 KV heads,
  intermediate 5632, vocabulary 32,000), stored as one bfloat16 ``model.safetensors`` as TinyLlama is, and
  loaded in float32 by the workbench's loader;
- its tokenizer: a word-level ``tokenizer.json`` with exactly 32,000 ids (``<unk>``, ``<s>``, ``</s>``, every
  word of the benchmark's texts and facts, then filler words), so that real text encodes to real ids; its
  compressed vocabulary (case and accents folded) is what the adapter saves as ``compressed_vocab_size``;
- the adapter: engram-peft's default tables (``engram_vocab_size_per_ngram`` [1131200, 1131200], 8 heads per
  n-gram, ``embedding_dim`` 1280, so 80 values per head and about 2.26 M rows per layer) on engram-peft's
  default target layers [1, 14], ``hc_mult`` 4, kernel 4, dilation 3, seed 0; the config has every field of
  the fixture adapter's (written by engram-peft 1.2.7's ``save_pretrained``); every parameter is random.

Measured in one run: load time; a plain forward of a 512-token text and the engine's ``run_audit`` of the same
text (a one-fact memory, no contrasts), timed interleaved; the peak resident memory of each, read in its own
fresh process after loading (the peak is reset once the model is resident, so the load's own peak does not
mask both); the ``opt`` write cost per fact. Like every benchmark it runs at the thread count torch is given
(the rows in docs/benchmarks.md are made at one, ``OMP_NUM_THREADS=1``, as scripts/regenerate_docs.sh runs them;
the row's threads column says which); the fresh processes inherit it.

python -m benchmarks.bench_hf_engram [--size full|reduced]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from benchmarks.bench_context import probe_text
from benchmarks.common import emit, interleaved
from benchmarks.fixtures import fact_specs
from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.engine import encode_probe, heldout_texts, run_audit
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import FactWriter

REPO = Path(__file__).resolve().parents[1]
FIXTURE_ADAPTER = REPO / "tests" / "fixtures" / "engram_peft" / "llama_engram"
VOCAB = 32_000
TOKENS = 512
AUDIT_GOAL, PEAK_GOAL = 2.2, 1.5
OPT_FACTS = 3
SPECIALS = ("<unk>", "<s>", "</s>")


@dataclass(frozen=True)
class Size:
    """The shape of the base and of the adapter's tables."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab_per_ngram: int  # engram-peft's engram_vocab_size_per_ngram, the same for both orders
    target_layers: tuple[int, ...]
    repeat: int  # interleaved timings of plain forward and audit
    heads_per_ngram: int = 8
    embedding_dim: int = 1280
    hc_mult: int = 4


SIZES = {
    # TinyLlama-1.1B's dimensions, engram-peft's default tables and target layers
    "full": Size(2048, 22, 32, 4, 5632, 1_131_200, (1, 14), repeat=3),
    # a check that everything runs, in seconds
    "reduced": Size(256, 4, 4, 2, 704, 25_000, (1, 2), repeat=5),
}


def vocabulary() -> list[str]:
    """32,000 distinct words: the specials, every word of the probe texts and facts, then filler."""
    from tokenizers import pre_tokenizers

    split = pre_tokenizers.Whitespace()
    words = list(SPECIALS)
    seen = set(words)
    texts = [*heldout_texts(200, 99), *(t for s in fact_specs(OPT_FACTS + 1) for t in (*s.triggers, s.answer))]
    for text in texts:
        for piece, _ in split.pre_tokenize_str(text):
            if piece not in seen:
                seen.add(piece)
                words.append(piece)
    i = 0
    while len(words) < VOCAB:
        if (filler := f"w{i}") not in seen:
            words.append(filler)
        i += 1
    return words[:VOCAB]


def build_tokenizer(folder: Path) -> int:
    """A word-level ``tokenizer.json`` of exactly 32,000 ids; returns its engram-peft compressed vocabulary size."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    from engram_probe.contracts.compression import compressed_map

    vocab = {w: i for i, w in enumerate(vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))
    config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "clean_up_tokenization_spaces": False}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    return int(compressed_map(tok, "raw-token-shared", added_tokens=False).max()) + 1


def build_base(folder: Path, size: Size, seed: int = 1) -> int:
    """A random Llama base folder (config, bfloat16 safetensors, tokenizer); returns its parameter count."""
    from safetensors.torch import save_file
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=size.hidden,
        intermediate_size=size.intermediate,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        num_key_value_heads=size.kv_heads,
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
    )
    config.architectures = ["LlamaForCausalLM"]
    with torch.device("meta"):
        shapes = {name: tuple(t.shape) for name, t in LlamaForCausalLM(config).state_dict().items()}
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in shapes.items():
        # matrices N(0, 0.02²) (transformers' initializer_range); RMSNorm weights near 1
        w = torch.randn(shape, generator=gen) * 0.02 if len(shape) > 1 else 1 + 0.1 * torch.randn(shape, generator=gen)
        state[name] = w.to(torch.bfloat16)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(str(folder))
    return sum(t.numel() for t in state.values())


def peft_primes(size: Size) -> dict[int, list[int]]:
    """engram-peft's table primes: layers ascending, per order the next primes above ``size // heads − 1``,
    none used twice (the adapter's saved offsets are their running sums; the loader checks them)."""
    from engram_probe.contracts.primes import next_primes

    used: set[int] = set()
    out: dict[int, list[int]] = {}
    for layer in sorted(size.target_layers):
        out[layer] = []
        for _order in range(2):
            primes = next_primes(size.vocab_per_ngram // size.heads_per_ngram - 1, size.heads_per_ngram, used)
            used.update(primes)
            out[layer] += primes
    return out


def build_adapter(folder: Path, size: Size, compressed_vocab: int, seed: int = 2) -> int:
    """An engram-peft adapter folder with every parameter random; returns the table rows per layer."""
    from safetensors.torch import save_file

    config = json.loads((FIXTURE_ADAPTER / "config.json").read_text())  # engram-peft's full field set
    config.update(
        engram_vocab_size_per_ngram=[size.vocab_per_ngram] * 2,
        n_head_per_ngram=size.heads_per_ngram,
        embedding_dim=size.embedding_dim,
        target_layers=list(size.target_layers),
        hc_mult=size.hc_mult,
        hidden_size=size.hidden,
        compressed_vocab_size=compressed_vocab,
        pad_id=2,  # the base has no pad token: engram-peft falls back to id 2
        seed=0,
    )
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    gen = torch.Generator().manual_seed(seed)
    h, e, dim = size.hidden, size.embedding_dim, size.embedding_dim // (2 * size.heads_per_ngram)

    def normal(*shape: int, std: float = 1.0, mean: float = 0.0) -> torch.Tensor:
        return mean + std * torch.randn(shape, generator=gen)

    tensors: dict[str, torch.Tensor] = {}
    primes = peft_primes(size)
    for layer, flat in primes.items():
        p = f"{layer}."
        tensors[p + "multi_head_embedding.offsets"] = torch.tensor([sum(flat[:i]) for i in range(len(flat))])
        tensors[p + "multi_head_embedding.embedding.weight"] = normal(sum(flat), dim)
        tensors[p + "gating.w_v.weight"] = normal(h, e, std=0.02)
        tensors[p + "short_conv.conv.weight"] = normal(size.hc_mult * h, 1, 4, std=0.5)
        for m in range(size.hc_mult):
            tensors[f"{p}gating.w_k.{m}.weight"] = normal(h, e, std=0.02)
            for norm in (f"gating.norm_h.{m}", f"gating.norm_k.{m}", f"short_conv.norms.{m}"):
                tensors[f"{p}{norm}.weight"] = normal(h, std=0.1, mean=1.0)
    save_file(tensors, str(folder / "engram_adapters.safetensors"), metadata={"format": "engram-peft"})
    return sum(primes[size.target_layers[0]])


def build(root: Path, size: Size) -> dict[str, Any]:
    """The base and adapter folders under ``root``, with what was built."""
    base, adapter = root / "base", root / "adapter"
    base.mkdir()
    adapter.mkdir()
    t0 = time.perf_counter()
    compressed = build_tokenizer(base)
    params = build_base(base, size)
    rows = build_adapter(adapter, size, compressed)
    return {
        "base": str(base),
        "adapter": str(adapter),
        "build_s": time.perf_counter() - t0,
        "base_params": params,
        "compressed_vocab_size": compressed,
        "table_rows_per_layer": rows,
        "adapter_bytes": (adapter / "engram_adapters.safetensors").stat().st_size,
        "base_bytes": (base / "model.safetensors").stat().st_size,
    }


def load(base: str, adapter: str) -> tuple[LoadedModel, float]:
    from engram_probe.arch.loading import open_model

    t0 = time.perf_counter()
    lm = open_model(base, engram=adapter)
    return lm, time.perf_counter() - t0


def one_fact(lm: LoadedModel) -> UserMemory:
    """The audited memory: the first benchmark fact, written with ``unembed`` (its rows are any strategy's)."""
    res = FactWriter(lm.model, lm.tokenizer).write(UserMemory("bench"), fact_specs(1), "unembed")
    return UserMemory("bench", res.facts)


def opt_cost(lm: LoadedModel) -> dict[str, Any]:
    """``opt`` write cost per fact over ``OPT_FACTS`` facts (after a one-fact warm-up), with the recall reached."""
    writer = FactWriter(lm.model, lm.tokenizer)
    specs = fact_specs(OPT_FACTS + 1)
    writer.write(UserMemory("warm"), specs[:1], "opt")
    res = writer.write(UserMemory("w"), specs[1:], "opt")
    return {
        "facts": OPT_FACTS,
        "ms_per_fact": res.cost_ms / OPT_FACTS,
        "recall_top1": sum(r["rank"] == 1 for r in res.recall_after) / len(res.recall_after),
    }


def audit_speed(lm: LoadedModel, memory: UserMemory, text: str, repeat: int) -> dict[str, Any]:
    """Plain forward and full audit of ``text``, timed interleaved."""
    tokens = torch.tensor([encode_probe(lm, text)])
    summaries: list[dict[str, Any]] = []

    @torch.no_grad()
    def plain() -> None:
        lm.model(tokens)

    def audit() -> None:
        summaries.append(run_audit(lm, memory, text)["summary"])

    t = interleaved({"plain": plain, "audit": audit}, repeat=repeat)
    last = summaries[-1]
    return {
        "tokens": int(tokens.shape[1]),
        "plain_s": t["plain"],
        "audit_s": t["audit"],
        "ratio": t["audit"] / t["plain"],
        "proof_holds": all(s["untouched_bit_exact"] for s in summaries),
        "positions": last["positions"],
    }


def _status_kib(field: str) -> int:
    return int(next(s for s in open("/proc/self/status") if s.startswith(field)).split()[1])


def child(mode: str, base: str, adapter: str) -> dict[str, Any]:
    """One fresh process's measurement: load, then the peak resident memory of one forward or one audit."""
    lm, load_s = load(base, adapter)
    memory = one_fact(lm)
    text = probe_text(lm, memory.facts[0].triggers[0], TOKENS)
    tokens = torch.tensor([encode_probe(lm, text)])
    load_peak = _status_kib("VmHWM") * 1024
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets VmHWM to the current resident set (Linux)
    resident = _status_kib("VmRSS") * 1024
    t0 = time.perf_counter()
    if mode == "forward":
        with torch.no_grad():
            lm.model(tokens)
    else:
        assert run_audit(lm, memory, text)["summary"]["untouched_bit_exact"]
    return {
        "tokens": int(tokens.shape[1]),
        "load_s": load_s,
        "load_peak": load_peak,
        "resident": resident,
        "peak": _status_kib("VmHWM") * 1024,
        "seconds": time.perf_counter() - t0,
    }


def peak_memory(base: str, adapter: str) -> dict[str, Any] | None:
    """Peak RSS of a plain forward and of an audit, each in its own fresh process."""
    if not Path("/proc/self/clear_refs").exists():
        return None  # Linux only
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    out: dict[str, Any] = {}
    for mode in ("forward", "audit"):
        cmd = [sys.executable, "-m", "benchmarks.bench_hf_engram", "--child", mode, base, adapter]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=True)
        out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    out["ratio"] = out["audit"]["peak"] / out["forward"]["peak"]
    work = {m: out[m]["peak"] - out[m]["resident"] for m in ("forward", "audit")}
    out["working_ratio"] = work["audit"] / max(1, work["forward"])
    return out


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def run(_lm: LoadedModel | None = None, size: str = "full") -> dict[str, Any]:
    """Build the model, measure, append one row (the shipped model ``run_all`` passes is not used)."""
    shape = SIZES[size]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="bench_hf_engram_") as tmp:
        built = build(Path(tmp), shape)
        lm, load_s = load(built["base"], built["adapter"])
        opt = opt_cost(lm)
        memory = one_fact(lm)
        text = probe_text(lm, memory.facts[0].triggers[0], TOKENS)
        speed = audit_speed(lm, memory, text, shape.repeat)
        del lm, memory
        gc.collect()
        peaks = peak_memory(built["base"], built["adapter"])
    payload = {"size": size, "shape": asdict(shape), "built": built, "load_s": load_s, "audit": speed, "opt": opt}
    payload |= {"peak_memory": peaks, "goals": {"audit_ratio": AUDIT_GOAL, "peak_ratio": PEAK_GOAL}}
    summary = (
        f"{size} size: {built['base_params'] / 1e9:.2f} B-parameter Llama (hidden {shape.hidden}, {shape.layers} "
        f"layers) + engram-peft tables {built['table_rows_per_layer']:,} rows x "
        f"{shape.embedding_dim // (2 * shape.heads_per_ngram)} on layers {list(shape.target_layers)} "
        f"(adapter file {built['adapter_bytes'] / 2**30:.2f} GiB); load {load_s:.1f} s; {speed['tokens']} tok: "
        f"plain forward {speed['plain_s']:.2f} s, audit {speed['audit_s']:.2f} s = {speed['ratio']:.2f}x "
        f"(goal <= {AUDIT_GOAL}x: {verdict(speed['ratio'] <= AUDIT_GOAL)}; "
        f"proof {'holds' if speed['proof_holds'] else 'FAILS'}, {speed['positions']['untouched']} untouched positions)"
    )
    if peaks:
        gib = {m: peaks[m]["peak"] / 2**30 for m in ("forward", "audit")}
        summary += (
            f"; peak RSS after load (each in a fresh process): audit {gib['audit']:.2f} GiB / plain forward "
            f"{gib['forward']:.2f} GiB = {peaks['ratio']:.2f}x (goal <= {PEAK_GOAL}x: "
            f"{verdict(peaks['ratio'] <= PEAK_GOAL)}), load peak {peaks['audit']['load_peak'] / 2**30:.2f} GiB"
        )
    summary += f"; opt write {opt['ms_per_fact']:,.0f} ms/fact ({opt['facts']} facts, top-1 {opt['recall_top1']:.2f})"
    return emit("hf_engram_scale" if size == "full" else f"hf_engram_scale ({size} size)", payload, summary)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="full")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "BASE", "ADAPTER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)), flush=True)
    else:
        run(size=args.size)


if __name__ == "__main__":
    main()
