"""Write the two notebooks from the cell sources below, then execute them in place.

    python notebooks/build_notebooks.py            # write and execute (outputs saved in the .ipynb)
    python notebooks/build_notebooks.py --no-run   # write only

The tests execute the committed notebooks again from top to bottom (tests/notebooks).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

PROBE = [
    (
        "md",
        """# Probing a single fact

We write one fact into the shipped Engram model and look at everything it touches, using only the
public library calls that the CLI and the workbench use. Every number below is produced by this run.""",
    ),
    (
        "code",
        """import tempfile
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from engram_probe.arch.workbench_checkpoint import load_checkpoint
from engram_probe.arch.describe import model_info
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter
from engram_probe.memory.transfer import export_memory
from engram_probe.audit.engine import AuditOptions, run_audit
from engram_probe.audit.readmap import read_map
from engram_probe.report import figures
from engram_probe.report.document import finalize
from engram_probe.report.printing import save_json_report as save_report
from engram_probe.report.verify import verify_report

pio.renderers.default = "plotly_mimetype"  # figure JSON in the notebook; no CDN
lm = load_checkpoint()
info = model_info(lm)
print("model", info["model"]["sha256"][:16], "| layers", info["config"]["n_layers"],
      "| Engram layers", info["config"]["engram_layers"], "| params", f"{info['params']['total']:,}")""",
    ),
    ("md", "## 1. Write one fact\n`opt`: a few Adam steps on the fact's 16 rows only, through the frozen network."),
    (
        "code",
        """TRIGGER, ANSWER = "My favorite tea is", "oolong"
result = FactWriter(lm.model, lm.tokenizer).write(UserMemory("alice"), [FactSpec.of(TRIGGER, ANSWER)], "opt")
fact = result.facts[0]
memory = UserMemory("alice", result.facts)
print(f"gold token {fact.gold_token!r}: rank {result.recall_before[0]['rank']} -> {result.recall_after[0]['rank']}"
      f" | {len(fact.rows)} rows, {fact.bytes} bytes, {fact.cost_ms:.0f} ms")""",
    ),
    ("md", "## 2. The addresses it owns\nOne row per hash head: 8 heads hash the suffix 2-gram, 8 the 3-gram."),
    (
        "code",
        """rows = []
for layer, row in fact.rows:
    c = lm.model.hasher.column_of_row(layer, row)
    rows.append({"layer": layer, "column": c.column, "order": c.order, "head": c.head, "row": row, "prime": c.size,
                 "row - offset": row - c.offset})
addresses = pd.DataFrame(rows)
go.Figure(go.Table(header=dict(values=list(addresses.columns)),
                   cells=dict(values=[addresses[c] for c in addresses.columns]))).update_layout(height=480)""",
    ),
    ("md", "## 3. The read map\nA sentence with the trigger twice, once inside other text."),
    (
        "code",
        """PROBE = f"{TRIGGER} {ANSWER}. Yesterday, over lunch, I told Sam that {TRIGGER.lower()} {ANSWER} and always was."
report = run_audit(lm, memory, PROBE)
hits = read_map(lm.model.hasher, MemoryOverlay([memory]), lm.tokenizer.encode(PROBE))
print(f"{len(hits)} (position, layer, head) hits at positions {sorted({h.position for h in hits})}")
fig, caption = figures.token_strip(report)
print(caption)
fig""",
    ),
    ("md", "## 4. Gate α before and after"),
    (
        "code",
        """fig, caption = figures.gate_figure(report)
print(caption)
fig""",
    ),
    ("md", "## 5. Value path and logit lens at the write sites"),
    (
        "code",
        """vp = pd.DataFrame([{
    "position": v["position"], "layer": v["layer"], "cos(Δout, W_V·row)": round(v["cos_delta_out_wv_row"], 4),
    "‖Δ value branch‖": round(v["norm_delta_value_branch"], 3), "‖Δ conv branch‖": round(v["norm_delta_conv_branch"], 3),
    "lens: promoted": " ".join(t["token"] for t in v["lens_engram_delta"]),
    "top-5 after": " ".join(t["token"] for t in v["top_after"])} for v in report["value_path"]])
vp""",
    ),
    ("md", "## 6. The bit-exact proof"),
    (
        "code",
        """s = report["summary"]
print(f"untouched positions: {s['positions']['untouched']} | bit-exact: {s['untouched_bit_exact']}")
print(f"compared {s['pairs_compared']:,} (hook, position) pairs = {s['values_compared']:,} values = "
      f"{s['bytes_compared']:,} bytes over {s['hooks_compared']} hooks")
assert s["untouched_bit_exact"]
fig, caption = figures.change_heatmap(report)
print(caption)
fig""",
    ),
    (
        "md",
        "## 7. Downstream: attention and the conv, kept apart\nAt the Engram layer, a write site reaches "
        "t+3, t+6 and t+9 through the dilated conv; every later position can read it through attention.",
    ),
    (
        "code",
        """L = fact.layer
rows = [c for c in report["changes"] if c["layer"] == L]
channels = pd.DataFrame([{"position": c["position"], "class": c["class"], "conv channel ‖Δ‖": c["engram_conv"],
                          "attention ‖Δ‖": c["attn_out"], "Engram value ‖Δ‖": c["engram_value"]} for c in rows])
go.Figure([go.Bar(name=k, x=channels["position"], y=channels[k]) for k in
           ("Engram value ‖Δ‖", "conv channel ‖Δ‖", "attention ‖Δ‖")]).update_layout(
    barmode="group", title=f"Change entering the residual at Engram layer {L}", yaxis_type="log", height=360)""",
    ),
    ("md", "## 8. Contrasts: the wrong layer and a per-user LoRA"),
    (
        "code",
        """contrast = run_audit(lm, memory, PROBE, options=AuditOptions(contrast=True))
c = contrast["contrasts"]
print(f"recall top-1: right layer {c['right_layer']['recall_top1']:.2f}, wrong layer {c['wrong_layer']['recall_top1']:.2f}, "
      f"wrong address {c['wrong_address']['recall_top1']:.2f}, no edit {c['no_edit']['recall_top1']:.2f}")
print(f"untouched values changed: LoRA {c['lora']['untouched_changed_fraction']:.2%}, "
      f"Engram {c['engram']['untouched_changed_fraction']:.2%}; bytes LoRA {c['lora']['bytes']:,} vs Engram {c['engram']['bytes']:,}")
figures.layer_recall(contrast)[0]""",
    ),
    ("code", "figures.lora_vs_engram(contrast)[0]"),
    ("md", "## 9. Export a report and verify it"),
    (
        "code",
        """out = Path(tempfile.mkdtemp())
mem_file = out / "alice.safetensors"
export_memory(memory, mem_file, lm.weights_sha256, lm.model.hasher)
doc = finalize(run_audit(lm, memory, PROBE, {"kind": "file", "path": str(mem_file)}))
path = save_report(doc, out / "report.json")
verdict = verify_report(path)
for check in verdict["checks"]:
    print(("ok  " if check["ok"] else "FAIL"), check["check"], "-", check["detail"])
assert verdict["ok"]""",
    ),
]

CLAIMS = [
    (
        "md",
        """# The paper's glass-box claims, measured on the shipped model

Each section takes one claim of "User as Engram" (see `../shared/design/REFERENCE_FACTS.md` §10.2),
measures it with the audit library, and states plainly whether it **holds exactly**, **holds only in a
scoped form**, or **does not hold** here. Verdicts are computed from the numbers, not written in
advance. The model is small (see `docs/model-card.md`), so magnitudes differ from the paper's.""",
    ),
    (
        "code",
        """import pandas as pd
import torch
from engram_probe.arch.workbench_checkpoint import load_checkpoint
from engram_probe.data.synthetic_users import generate_users
from engram_probe.memory.operations import specs_from_user_record
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter
from engram_probe.audit.engine import AuditOptions, run_audit, heldout_texts
from engram_probe.audit.contrasts import heldout_change, layer_contrast
from engram_probe.audit.lora import train_user_lora

lm = load_checkpoint()
user = generate_users(1, seed=21, prefix="g")[0]
specs = specs_from_user_record(user)[:10]
writer = FactWriter(lm.model, lm.tokenizer)
opt = UserMemory("g-opt", writer.write(UserMemory("g-opt"), specs, "opt").facts)
unembed = UserMemory("g-unembed", writer.write(UserMemory("g-unembed"), specs, "unembed").facts)
verdicts = []
def verdict(claim, status, evidence):
    verdicts.append({"claim": claim, "verdict": status, "evidence": evidence})
    print(f"[{status}] {claim}: {evidence}")
print(len(specs), "facts of generated user", user["uid"])""",
    ),
    ("md", '## Claim 1: "exactly 0.000 at every other position"'),
    (
        "code",
        """f = opt.facts[0]
end = run_audit(lm, opt, f"Over breakfast we talked about the week. {f.triggers[0]}")
mid = run_audit(lm, opt, f"Over breakfast we talked. {f.triggers[0]} {f.answer}, as I said before.")
before_exact = end["summary"]["untouched_bit_exact"] and mid["summary"]["untouched_bit_exact"]
after = [c for c in mid["changes"] if c["class"] == "downstream" and c["layer"] == "final"]
after_max = max((c["logits"] for c in after), default=0.0)
verdict("zero change before the trigger", "holds exactly" if before_exact else "does not hold",
        f"{end['summary']['values_compared'] + mid['summary']['values_compared']:,} values compared, all identical: {before_exact}")
verdict("zero change at every other position", "holds only in a scoped form" if after_max > 0 else "holds exactly",
        f"positions after the trigger change: max ‖Δlogits‖ = {after_max:.3f} over {len(after)} downstream positions")""",
    ),
    (
        "code",
        """texts = heldout_texts(8, 12345)
overlay = MemoryOverlay([opt])
lora = train_user_lora(lm.model, [lm.tokenizer.encode(f.triggers[0]) for f in opt.facts],
                       [f.gold_token_id for f in opt.facts], lm.tokenizer.bos_id, 1.0)
held = heldout_change(lm, texts, overlay, lora.model)
a = held["engram_attribution"]
status = "holds only in a scoped form" if held["engram_delta"] != 0 else "holds exactly"
verdict("unrelated text is unchanged", status,
        f"Engram Δloss {held['engram_delta']:+.2e} nats/token on {held['tokens']} held-out tokens, all of it at or after "
        f"{a['read_map_hit_positions']} read-map hits (elsewhere max |Δ| = {a['max_abs_token_delta_elsewhere']})")""",
    ),
    ("md", '## Claim 2: "the write opens its own gate; elsewhere it stays off"'),
    (
        "code",
        """rows = []
for fact in opt.facts:
    rep = run_audit(lm, opt, fact.triggers[0])
    pos = rep["positions"]
    t = len(pos) - 1
    rows.append({"trigger α before": pos[t]["gate_before"], "trigger α after": pos[t]["gate_after"],
                 "max α elsewhere before": max(p["gate_before"] for p in pos[:t])})
g = pd.DataFrame(rows)
lo, hi = rep["gate"]["attainable_range"]
opened = (g["trigger α after"] > g["trigger α before"]).mean()
singled_out_before = (g["trigger α before"] > g["max α elsewhere before"]).mean()
verdict("the write raises the trigger's gate", "holds exactly" if opened == 1 else "holds only in a scoped form",
        f"α rises at {opened:.0%} of triggers, mean {g['trigger α before'].mean():.3f} -> {g['trigger α after'].mean():.3f} "
        f"(ceiling {hi:.3f})")
verdict("before the write the gate does not single out the trigger", "holds exactly" if singled_out_before < 0.5 else "does not hold",
        f"trigger α above every earlier position's α at {singled_out_before:.0%} of triggers")
g.describe().loc[["mean", "min", "max"]]""",
    ),
    ("md", '## Claim 3: "the row injects exactly its value path (cos ≈ 0.999)"'),
    (
        "code",
        """def cosines(mem):
    out = []
    for fact in mem.facts:
        vp = run_audit(lm, mem, fact.triggers[0])["value_path"]
        out += [v["cos_delta_out_wv_row"] for v in vp if v["layer"] == fact.layer]
    return pd.Series(out)
c_opt, c_unembed = cosines(opt), cosines(unembed)
verdict("cos(ΔEngram out, W_V·row) ≈ 1", "holds only in a scoped form" if c_opt.mean() > 0.99 > c_unembed.mean()
        else ("holds exactly" if min(c_opt.mean(), c_unembed.mean()) > 0.99 else "does not hold"),
        f"opt mean {c_opt.mean():.4f}, unembed mean {c_unembed.mean():.4f}")""",
    ),
    ("md", '## Claim 4: "the row stores the gold value"'),
    (
        "code",
        """def gold_cos(mem):
    out = []
    for fact in mem.facts:
        weights = lm.model.writer_weights(fact.layer)  # the layer's W_V and the unembedding, as the writers read them
        e = fact.values.flatten()
        u = weights.unembed[fact.gold_token_id].detach()
        out.append(float(torch.nn.functional.cosine_similarity(weights.value.detach() @ e, u, dim=0)))
    return pd.Series(out)
g_opt, g_unembed = gold_cos(opt), gold_cos(unembed)
verdict("cos(W_V·row, u_gold) is high", "holds only in a scoped form" if g_unembed.mean() > 0.9 > g_opt.mean()
        else ("holds exactly" if g_opt.mean() > 0.9 else "does not hold"),
        f"closed form (unembed) {g_unembed.mean():.3f} (by construction), deployed opt rows {g_opt.mean():.3f}")""",
    ),
    ("md", '## Claim 5: "it stops working in the wrong layer"'),
    (
        "code",
        """rows = {}
for strategy in ("unembed", "opt"):
    lc = layer_contrast(lm, specs, strategy, writer.settings)
    rows[strategy] = {"right top-1": lc["right_layer"]["recall_top1"], "wrong top-1": lc["wrong_layer"]["recall_top1"],
                      "right top-5": lc["right_layer"]["recall_top5"], "wrong top-5": lc["wrong_layer"]["recall_top5"],
                      "right p(gold)": lc["right_layer"]["gold_prob_mean"], "wrong p(gold)": lc["wrong_layer"]["gold_prob_mean"]}
collapses = {s: r["wrong top-1"] < r["right top-1"] for s, r in rows.items()}
status = ("holds exactly" if all(collapses.values()) else
          "holds only in a scoped form" if any(collapses.values()) else "does not hold")
verdict("the wrong layer recalls less (same strategy and budget)", status,
        "; ".join(f"{s}: top-1 {r['right top-1']:.2f} (layer {lc['right_layer']['layer']}) vs {r['wrong top-1']:.2f} "
                  f"(layer {lc['wrong_layer']['layer']})" for s, r in rows.items()))
pd.DataFrame(rows).T""",
    ),
    ("md", '## Claim 6: "a per-user LoRA contaminates everything; Engram ~33,000x less"'),
    (
        "code",
        """ratio = abs(held["lora_delta"]) / abs(held["engram_delta"]) if held["engram_delta"] else float("inf")
probe = run_audit(lm, opt, f"Over breakfast we talked about the week. {opt.facts[0].triggers[0]}",
                  options=AuditOptions(contrast=True, contrast_facts=10))
cc = probe["contrasts"]
verdict("a per-user LoRA changes every position", "holds exactly" if cc["lora"]["untouched_changed_fraction"] >= 0.99 else "does not hold",
        f"LoRA (rank {cc['lora']['rank']}, {cc['lora']['steps']} steps, recall {cc['lora']['recall_top1']:.2f}) changes "
        f"{cc['lora']['untouched_changed_fraction']:.2%} of untouched values; Engram {cc['engram']['untouched_changed_fraction']:.2%}")
verdict("the held-out loss ratio is a fixed ~33,000x", "does not hold" if not 1e4 < ratio < 1e5 else "holds only in a scoped form",
        f"here |ΔLoRA|/|ΔEngram| = {ratio:,.0f} with this LoRA recipe; the ratio depends on the recipe (rank, steps, lr)")""",
    ),
    ("md", '## Claim 7: "zero cross-user leakage by construction"'),
    (
        "code",
        """other = UserMemory("h-opt", writer.write(UserMemory("h-opt"), [FactSpec.of(specs[0].triggers, "Zanzibar")], "opt").facts)
both = MemoryOverlay([opt, other])
ids = torch.tensor([lm.tokenizer.encode("Nothing to do with either user, just the weather today.")])
with torch.no_grad():
    same = torch.equal(lm.model(ids, overlay=MemoryOverlay([opt])), lm.model(ids, overlay=both))
verdict("users on different rows never see each other", "holds exactly" if same else "does not hold",
        "overlays never write shared tables; identical bytes with and without the other user on unrelated text")
verdict("users sharing a template do not interfere", "does not hold" if both.collisions else "holds exactly",
        f"{len(both.collisions)} rows collide when two users write the same trigger; precedence: {both.precedence_rule[:60]}…")""",
    ),
    ("md", '## Claim 8: "88 KB per user vs 14.2 MB for a LoRA"'),
    (
        "code",
        """verdict("Engram memory is far smaller than a per-user LoRA", "holds exactly" if cc["lora"]["bytes"] > 10 * cc["engram"]["bytes"] else "does not hold",
        f"{cc['engram']['bytes']:,} B of rows for {len(opt.facts)} facts vs {cc['lora']['bytes']:,} B of LoRA (fp32); "
        f"the paper's figures are for a 339 M model")
pd.DataFrame(verdicts)""",
    ),
    (
        "md",
        """## Claim 9: "a shared adapter over per-user rows answers indirect questions 5.6x better than a per-user LoRA"

A small run (adapter: 300 steps on 4 generated users; one test user with 6 facts and 6 questions). The
control that decides whether the *rows* help reasoning is E, the adapter alone. The full table on
u000-u019 is in `docs/layered.md` (`engram-probe layered evaluate`).""",
    ),
    (
        "code",
        """import tempfile
from pathlib import Path

from engram_probe.audit.lora import LoraSettings
from engram_probe.layered.adapter import AdapterSettings, train_shared_adapter
from engram_probe.layered.evaluate import LayeredSettings, evaluate_layered
from engram_probe.layered.report import write_reports
from engram_probe.layered.samples import adapter_corpus

train_users = generate_users(4, seed=20, prefix="a")
adapter = train_shared_adapter(lm, adapter_corpus(train_users), [u["uid"] for u in train_users], AdapterSettings(steps=300))
test_users = [dict(u, facts=u["facts"][:6]) for u in generate_users(2, seed=30, prefix="l")]
quick = LayeredSettings(indirect_per_user=6, heldout_docs=2, lora=LoraSettings(max_steps=60))
doc = evaluate_layered(lm, adapter, test_users[:1], quick, partner=test_users[1])
t, agg = doc["aggregate"]["table"], doc["aggregate"]
gain = t["F"]["indirect_any"] - t["E"]["indirect_any"]
verdict("the per-user rows add to indirect answers beyond the shared adapter", "does not hold" if gain <= 0 else "holds only in a scoped form",
        f"indirect_any F {t['F']['indirect_any']:.2f}, E {t['E']['indirect_any']:.2f}, F-swap {t['F-swap']['indirect_any']:.2f}, "
        f"F-zero {t['F-zero']['indirect_any']:.2f}, B {t['B']['indirect_any']:.2f}; "
        f"{agg['share_of_indirect_probes_never_reading_rows']:.0%} of the questions never read the rows")
print("invariants:", doc["invariants"])
files = write_reports(doc, str(Path(tempfile.mkdtemp()) / "layered.json"), str(Path(tempfile.mkdtemp()) / "layered.html"))
print("report", doc["digests"]["report"][:16], "->", [f.name for f in files])
pd.DataFrame({c: {m: r[m] for m in ("direct_top1", "indirect_any", "indirect_any_strict", "heldout_loss_delta")}
              for c, r in t.items()}).T""",
    ),
]


def formatted(src: str) -> str:
    """A code cell laid out by ruff, as the rest of the code base (ruff rewrites whole .ipynb files with
    its own float printing, which would change the recorded outputs' last digits; one cell at a time does not)."""
    done = subprocess.run(
        ["ruff", "format", "--stdin-filename", "cell.py", "-"], input=src, capture_output=True, text=True, check=True
    )
    return done.stdout.rstrip("\n")


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, src in cells:
        cell = nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(formatted(src))
        nb.cells.append(cell)
    return nb


def execute(path: Path, timeout: int = 900) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    return nb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-run", action="store_true")
    args = ap.parse_args()
    for name, cells in (("probe_single_fact.ipynb", PROBE), ("reproduce_glass_box_claims.ipynb", CLAIMS)):
        path = HERE / name
        nbformat.write(build(cells), path)
        if not args.no_run:
            nbformat.write(execute(path), path)
        print("wrote", path)


if __name__ == "__main__":
    main()
