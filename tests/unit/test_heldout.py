"""Held-out texts as an input of the audit: the pinned default set, an operator's file, and verify of both.

Reports are real contrast audits of a tiny committed model (``tests/fixtures/audit_report_v1``, which also holds a
report made by the code before held-out texts were an input); the generator is replaced by one that writes other
text, to show that figures come from the pinned set and not from the generator.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engram_probe.arch.loading import open_model
from engram_probe.audit.engine import AuditOptions, run_audit
from engram_probe.audit.heldout import (
    DEFAULT_HELDOUT_FILE,
    DEFAULT_HELDOUT_SHA256,
    HeldoutError,
    default_heldout,
    load_default_heldout,
    parse_heldout,
    texts_digest,
)
from engram_probe.audit.lora import LoraSettings
from engram_probe.memory.transfer import read_memory_file
from engram_probe.memory.writing import WriteSettings
from engram_probe.report.document import finalize
from engram_probe.report.kernel import differences
from engram_probe.report.printing import save_json_report
from engram_probe.report.verify import verify_report
from tests.cli_run import run_cli

OLD = Path(__file__).resolve().parents[1] / "fixtures" / "audit_report_v1"
PROBE = "Hello there. My name is Ada. I live in Lisbon."
FAST = dict(
    contrast=True,
    contrast_facts=2,
    write_settings=WriteSettings(opt_steps=10, opt_max_steps=10),
    lora_settings=LoraSettings(max_steps=12, min_steps=4, check_every=4),
)
OTHER_TEXT = ["An entirely different document about tides and lighthouses, written by the new generator."] * 40


@pytest.fixture(scope="module")
def lm() -> Any:
    return open_model(OLD / "model")


def other_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The training-data generator changed: it now writes other text for every seed."""
    import engram_probe.data.corpus as corpus

    monkeypatch.setattr(corpus, "generate_corpus", lambda n, seed=0, **_: OTHER_TEXT[:n])


def verify(path: Path, **kw: Any) -> dict[str, Any]:
    return verify_report(path, OLD / "model", memory_path=OLD / "alice.safetensors", **kw)


def test_the_default_set_is_eight_texts_that_hash_to_the_pinned_digest() -> None:
    held = default_heldout()
    assert len(held.texts) == 8 and held.sha256 == DEFAULT_HELDOUT_SHA256 == texts_digest(held.texts)
    assert held.record() == {"sha256": DEFAULT_HELDOUT_SHA256, "count": 8, "source": {"kind": "default"}}


def test_a_changed_default_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    texts = json.loads(DEFAULT_HELDOUT_FILE.read_text(encoding="utf-8"))
    texts[3] = texts[3].replace("a", "o", 1)
    changed = tmp_path / "default.json"
    changed.write_text(json.dumps(texts), encoding="utf-8")
    with pytest.raises(HeldoutError, match=r"default\.json: .*not the pinned default"):
        load_default_heldout(changed)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", b"", "no texts in it"),
        ("blank.txt", b"\n  \n\t\n", "no texts in it"),
        ("latin1.txt", "caf\xe9 au lait\n".encode("latin-1"), "not UTF-8 text"),
        ("nul.txt", b"one text\0two\n", "a NUL byte"),
        ("one.json", b'"a single text"', "list of texts, not a single value"),
        ("number.json", b'["fine", 3]', "item 2 of the list is not text"),
        ("hole.json", b'["fine", "  "]', "item 2 of the list is empty"),
        ("broken.json", b'["fine",', "not valid JSON"),
        ("empty.json", b"[]", "no texts in it"),
    ],
)
def test_a_bad_heldout_file_is_refused_with_its_name_and_the_problem(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(HeldoutError) as err:
        parse_heldout(path)
    assert f"held-out file {name}: " in str(err.value) and problem in str(err.value) and "\n" not in str(err.value)


def test_a_too_large_heldout_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_bytes(b"x" * (4 * 2**20 + 1))
    with pytest.raises(HeldoutError, match=r"huge\.txt: 4,194,305 bytes; a held-out file holds at most 4,194,304"):
        parse_heldout(path)


def test_a_text_lines_file_and_a_json_list_of_the_same_texts_have_one_digest(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("first text\r\n\nsecond text\n", encoding="utf-8")
    (tmp_path / "a.json").write_text('["first text", "second text"]', encoding="utf-8")
    assert parse_heldout(tmp_path / "a.txt") == parse_heldout(tmp_path / "a.json") == ("first text", "second text")


def test_an_old_report_still_verifies_after_the_generator_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    old = json.loads((OLD / "report.json").read_text(encoding="utf-8"))
    assert "heldout" not in old["options"] and old["options"]["heldout_docs"] == 8  # made before the set was pinned
    other_generator(monkeypatch)
    result = verify(OLD / "report.json")
    if result["ok"]:
        return
    # The report records no CPU kernels (it predates the field). On other kernels than it was made on (AVX2 vs
    # AVX512), the LoRA contrast's training rounds differently, so its counts of changed values move by about 1e-4:
    # every other claim, the held-out figures and the proof included, must still be reproduced.
    failed = [c for c in result["checks"] if not c["ok"]]
    assert [c["check"] for c in failed] == ["re-run"] and "other CPU kernels" in failed[0]["detail"], failed
    for m in result["mismatches"]:
        assert m["path"].startswith(".contrasts.lora."), m
        a, b = float(m["reported"]), float(m["recomputed"])
        assert abs(a - b) <= 1e-3 * max(abs(a), 1.0), m


def test_a_new_report_records_the_default_set_and_verifies_after_the_generator_changes(
    lm: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = read_memory_file(OLD / "alice.safetensors", lm.model, lm.weights_sha256)
    body = run_audit(lm, memory, PROBE, {"kind": "file", "path": "alice.safetensors"}, AuditOptions(**FAST))
    old = json.loads((OLD / "report.json").read_text(encoding="utf-8"))
    assert body["options"]["heldout"] == default_heldout().record()
    # the pinned texts are the ones the old report's generator gave: the same held-out figures
    assert differences(old["contrasts"]["heldout_loss"], body["contrasts"]["heldout_loss"], set(), 1e-6) == []
    path = save_json_report(finalize(body), tmp_path / "new.json")
    other_generator(monkeypatch)
    result = verify(path)
    assert result["ok"], result["checks"]
    assert [c["check"] for c in result["checks"] if c["check"].startswith("held-out")] == ["held-out digest"]


def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    out = run_cli(*args)
    assert out.returncode == code, out.stderr[-2000:] + out.stdout[-2000:]
    return out


def test_the_cli_records_an_operators_heldout_file_and_verify_re_reads_it_by_digest(tmp_path: Path) -> None:
    held = tmp_path / "mine.txt"
    held.write_text("The ferry left at dawn and the harbour was quiet.\nA short second text about bread.\n")
    report = tmp_path / "r.json"
    memory = ["--model", str(OLD / "model"), "--memory", str(OLD / "alice.safetensors")]
    cli("audit", *memory, "--text", PROBE, "--contrast", "--heldout", str(held), "--json", str(report))
    doc = json.loads(report.read_text(encoding="utf-8"))
    texts = ("The ferry left at dawn and the harbour was quiet.", "A short second text about bread.")
    assert doc["options"]["heldout"] == {
        "sha256": texts_digest(texts),
        "count": 2,
        "source": {"kind": "file", "path": str(held.resolve())},
    }
    assert doc["contrasts"]["heldout_loss"]["texts"] == 2
    assert "VERIFIED" in cli("verify", str(report), *memory[:2]).stdout
    kept = tmp_path / "kept.json"  # the operator's own copy of the same texts, in the other file form
    kept.write_text(json.dumps(list(texts)), encoding="utf-8")
    held.write_text("The ferry left at noon.\n")  # the file at the hinted path is not the one the report used
    out = cli("verify", str(report), *memory[:2], code=1).stdout
    assert "held-out texts re-loaded hash to" in out and "NOT VERIFIED" in out
    # given the right texts with --heldout, the same report verifies again
    assert "VERIFIED" in cli("verify", str(report), *memory[:2], "--heldout", str(kept)).stdout


def test_the_cli_refuses_a_bad_heldout_file_in_one_line_before_loading_the_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe not text")
    out = cli(
        "audit",
        "--model",
        str(tmp_path / "no-model"),
        "--memory",
        "x",
        "--text",
        "hi",
        "--contrast",
        "--heldout",
        str(bad),
        code=2,
    )
    assert out.stderr.strip().count("\n") == 0 and "held-out file bad.txt: " in out.stderr
    assert "Traceback" not in out.stderr


def test_a_count_and_seed_name_the_pinned_set_for_the_default_and_the_generator_for_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Layered reports (and audit reports before format /2) name their texts by count and seed."""
    from engram_probe.audit.engine import generated_heldout, heldout_texts

    assert list(generated_heldout(8, 12345).texts) == heldout_texts(8, 12345)  # the same texts as ever
    other_generator(monkeypatch)
    assert generated_heldout(8, 12345) == default_heldout()  # pinned: a new generator does not change them
    other = generated_heldout(2, 5)
    assert other.texts == tuple(OTHER_TEXT[:2]) and other.kind == "generated"
