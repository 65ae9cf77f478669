"""Write docs/isolation-probe.md from ``engram-probe isolation probe --report`` files (run from the repo root).

python3 scripts/isolation_probe_page.py SHIPPED_REPORT.json "THE COMMAND THAT MADE IT" [NAME=TINY_REPORT.json ...]
"""

import json
import sys
from pathlib import Path

from engram_probe.isolation.probe_summary import BASE, OWN, render_markdown

main_json, main_cmd = sys.argv[1], sys.argv[2]
tiny = [a.split("=", 1) for a in sys.argv[3:]]  # name=path
r = json.loads(Path(main_json).read_text())
ft, wa = r["decomposition"]["first_token"], r["decomposition"]["whole_answer"]
n_users = len(r["users"])
label = "the full run" if n_users == 30 else f"a smaller run ({n_users} users), not the full 30 x 50"
read_trig = sum(leak["first_token"]["class"] == "read" and leak["kind"] == "trigger" for leak in r["leaks"])
read_para = ft["read"] - read_trig


def pct(x):
    return f"{x['rate']:.1%}"


lines = [
    "# The paper's cross-user probe, decomposed",
    "",
    "Each user B is asked every other user A's questions with the **shared table** (every user's memory in one",
    "overlay, B's listed last so B's rows win where two users write a row: the paper's server's precedence), and",
    "every answer served to B that is A's answer is attributed with evidence. This page is the figures of issue 24,",
    "item 3; `engram-probe isolation probe` reproduces them.",
    "",
    "## Reproduce",
    "",
    "```",
    main_cmd,
    "```",
    "",
    "`--store` keeps the written users: a second run reuses them and writes nothing (writing is most of the time:",
    "about 0.4 s a fact with `opt` on a quiet machine, 1.5 to 10 s on the loaded 2-core machine of these runs).",
    "`--report` keeps every leak",
    "with its evidence (the rows read, by whom, and the four runs' verdicts).",
    "",
    "## What is measured",
    "",
    "- **Users and facts**: the paper's users (`reference_users/u000.json` ... `u029.json`, passed by path). Each",
    "  fact is written as the recall evaluation writes it (`docs/recall.md`): one trigger, the first paraphrase cut",
    "  just before the answer, teaching the whole answer with `opt`. The users have 32 to 34 facts each, so the cap",
    "  of 50 facts per user is not reached.",
    "- **Probes**: for every ordered pair of users (B asking, A owning) and every fact of A: the trigger A wrote, and",
    '  each other paraphrase of the fact that ends with the answer, cut before it ("I live in", "Home city:").',
    "- **Measures**: a probe **leaks** when the answer's first token served to B is A's top-1 (the paper's",
    '  definition: "wrong-user served answer equals the owner\'s gold first token"); the stricter **whole answer**',
    "  counts it only when greedy generation gives A's whole answer, token for token (`engram-probe recall`'s exact).",
    "- **Attribution**, on the identical input tensor (the prompt followed by A's answer, teacher-forced), from the",
    "  positions that decide the measure:",
    "  - **(a) read**: the probe reads rows holding A's value, and the run without A's memory loses the answer;",
    "  - **(b) coincidence**: the probe reads no row holding A's value, so its logits without A's memory are",
    "    bit-identical (proved: a byte comparison of the two runs' logits), and the answer comes from the base",
    "    model (the run with no rows) or from B's own rows (the run with B's rows only);",
    "  - **(c) third users' rows**: no row of A's is read, and the answer comes from rows of users other than A and",
    "    B (B's rows alone lose it); in this data they are users who wrote the same fact with the same answer;",
    "  - **read, no effect**: the probe reads A's rows, but the answer stays without them (it is the base model's or",
    "    B's anyway).",
    "- Intervals are 95% Wilson score intervals over probes. The probes are not independent (the same templates",
    "  recur across users), so the intervals are narrower than a resampling of users would give.",
    "",
    f"## Shipped model: {label}",
    "",
    *(
        []
        if n_users == 30
        else [
            f"**This is a smaller run: the first {n_users} users (u000 to u{n_users - 1:03d}), "
            "every one of their facts, "
            "every pair of them.** The full 30-user run (55,535 probes) did not finish in the session that wrote this "
            "page: its writes took 40 minutes on a shared 2-core machine and its asking about 1.7 minutes per asking "
            "user. The command above reproduces it (with the same store, its users are already written); this smaller "
            "run is the same command with `--users 7` on the same written facts.",
            "",
        ]
    ),
    *render_markdown(r, f"Shipped model `{r['model_sha256'][:16]}…`, `{r['strategy']}`"),
    "### Reading the figures",
    "",
    f"- Every one of the {ft['reads_no_owner_row']:,} first-token leaks that read no row holding the owner's value "
    f"was proved bit-identical without the owner's memory ({ft['proved_bit_identical']:,} of "
    f"{ft['reads_no_owner_row']:,}; whole answers {wa['proved_bit_identical']:,} of {wa['reads_no_owner_row']:,}):",
    "  those answers are provably independent of the owner's data.",
    f"- **{ft['read']:,}** first-token leaks ({ft['read'] / max(1, r['first_token']['count']):.0%} of the leaks, "
    f"{ft['read'] / r['probes']:.2%} of all probes; {wa['read']:,} whole answers) are the owner's rows at work. "
    f'{read_trig:,} of them are the owner\'s own trigger asked verbatim ("Jordan Ivanov lives in"): the probe',
    "  reads the owner's rows by content, the same n-grams the owner wrote, which a shared table serves to anyone",
    f"  who asks them. The other {read_para:,} are paraphrases that share an n-gram with the owner's trigger or",
    "  land on the owner's row by hash collision. Keeping users apart by salting the hash (item 1 of the issue) is",
    "  the remedy for the first kind.",
    f'- Most leaks are coincidences: the base model\'s prior ({ft["coincidence_by_source"][BASE]:,}; e.g. " Dr" after',
    f'  "My dentist is") or B\'s own fact for the same template with the same first token '
    f"({ft['coincidence_by_source'][OWN]:,};",
    "  two users with the same weekday, allergy or the same first token of a name). The whole-answer measure keeps",
    "  few of the base model's coincidences: its prior rarely spells a whole answer.",
    f"- \"Read, no effect\" ({ft['read, no effect']:,}): the owner's rows are read, but the answer is the base model's",
    "  or B's anyway, so removing them changes the logits and not the answer.",
    "",
    "## Against the paper's 3.9%",
    "",
    f"The paper reports 5 of 127 = 3.9% (95% interval {r['paper']['ci95'][0]:.1%} to {r['paper']['ci95'][1]:.1%})",
    "on d12 v1, 30 users x 50 facts, 600 requests of which 20% were deliberate wrong-user probes. The protocols",
    "differ, so the figures are not the same quantity:",
    "",
    "- **The table.** The paper's server swaps the asking user's map in alone; this page's main figures use one",
    "  shared table holding every user. The row \"asking user's rows only\" is the paper's protocol on this model:",
    f"  {pct(r['first_token_own_rows_only'])}, against {pct(r['first_token'])} with the shared table; the (a) and (c) "
    "rows are,",
    "  roughly, what co-residence adds. The paper's own all-coresident protocol reports 46% (other users'",
    "  overrides left in place, a different write and recall setting).",
    "- **The probes.** The paper sampled 127 wrong-user requests; here every (asker, owner, fact, prompt) is asked",
    f"  ({r['probes']:,} probes), paraphrases included. The triggers the facts were written with leak at "
    f"{pct(r['first_token_by_kind']['trigger'])},",
    f"  the other paraphrases at {pct(r['first_token_by_kind'].get('paraphrase', {'rate': 0}))}.",
    "- **The model.** d12 v1 is a 12-layer nanochat model; the shipped model is the workbench's own small model,",
    "  with its own base priors (how often its unedited continuation is some user's first token).",
    "- **The scoring.** The paper's serving evaluation generates one token per request; here the whole answer is",
    '  taught and scored too. First tokens such as " Dr" or " Mon" begin many users\' answers: the small answer',
    "  pools the paper names as its cause are the largest class here too.",
    "",
    "The paper attributes its non-zero rate to value coincidence and base priors. On this model, with the shared",
    "table, that holds for most leaks, and it is now proved for each of them (bit-identical logits without the",
    f"owner's rows); the {ft['read']:,} that read the owner's rows are mostly ({read_trig:,}) the owner's own trigger "
    "asked",
    "verbatim.",
    "",
]
if tiny:
    lines += [
        "## The other architectures (tiny random fixtures)",
        "",
        "The workbench's other architectures run here only as the tiny random test fixtures (`tests/helpers.py`",
        "`TINY_ARCHITECTURES`). Their weights are random, their tokenizers spell an answer byte by byte (so many",
        'answers share a first token such as " M"), and their hash tables are tiny (101 to 179 rows per head), so',
        "almost every probe reads some other user's row (\"read, no effect\" dominates: the asking user's own rows",
        "give the same first token). Their figures show that the decomposition runs on each architecture, not how a",
        "trained model of that kind behaves. Smaller runs (10 users x their first 10 facts, those the fixture can",
        "hold), labelled with their size; the same command with `--model` (and `--engram`) reproduces them.",
        "",
    ]
    for name, path in tiny:
        p = Path(path)
        if not p.exists():
            lines += [f"### {name}", "", "Did not finish in this session.", ""]
            continue
        t = json.loads(p.read_text())
        if t["probes"] == 0:
            lines += [
                f"### {name}",
                "",
                "No probe: the fixture's tokenizer spells none of the reference users' "
                "answers (every fact is left out).",
                "",
            ]
            continue
        lines += render_markdown(
            t,
            f"{name} (tiny random fixture, {len(t['users'])} users x at most {t['facts_per_user_cap']} facts)",
        )
Path("docs/isolation-probe.md").write_text("\n".join(lines).rstrip() + "\n")
