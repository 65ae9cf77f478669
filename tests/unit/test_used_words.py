"""The words every view uses to say what it used: the held-out set, the layer, the strategy, the threads."""

from __future__ import annotations

import torch

from engram_probe.audit.engine import AuditOptions
from engram_probe.audit.heldout import DEFAULT_HELDOUT_SHA256
from engram_probe.report.kernel import environment
from workbench.export_tab import report_used
from workbench.used import heldout_words, settings_words, threads_words, used_line


def test_the_default_held_out_set_is_named_by_count_and_digest() -> None:
    record = AuditOptions().as_dict()["heldout"]
    assert heldout_words(record) == f"held-out set: 8 texts (the default set), digest `{DEFAULT_HELDOUT_SHA256[:12]}…`"
    own = {"sha256": "ab" * 32, "count": 1, "source": {"kind": "file", "path": "/x/y.txt"}}
    assert heldout_words(own) == "held-out set: 1 text (an uploaded file), digest `abababababab…`"  # no path shown


def test_threads_are_this_process_s_settings() -> None:
    n = torch.get_num_threads()
    det = "on" if torch.are_deterministic_algorithms_enabled() else "off"
    assert threads_words() == f"{n:,} CPU thread{'s' if n != 1 else ''}, deterministic algorithms {det}"
    assert (
        threads_words({"threads": 1, "deterministic_algorithms": True}) == "1 CPU thread, deterministic algorithms on"
    )


def test_a_view_and_a_report_with_the_same_inputs_say_the_same_words() -> None:
    env = environment()
    heldout = AuditOptions().as_dict()["heldout"]
    doc = {"memory": {"layers": [1]}, "options": {"heldout": heldout}, "environment": env, "contrasts": {}}
    view = used_line(strategy="opt", layers=[1], heldout=heldout, env=env)
    assert report_used(doc, ["opt"]) == view
    assert view.startswith("**Used:** strategy opt · Engram layer 1 · held-out set: 8 texts")
    no_contrast = {k: v for k, v in doc.items() if k != "contrasts"}
    assert "held-out" not in report_used(no_contrast, ["opt"])  # an audit without contrasts used no held-out set
    assert settings_words("opt", {"steps": 20, "max_steps": 60}) == "opt (20 steps, up to 60 until the answer is top-1)"
    assert settings_words("unembed", {"scale": 20.0}) == "unembed (closed form, scale 20)"
