"""One verify for every report kind, and forgeries that re-stamp the digest and must fail at the re-run.

Each forgery edits a claim in a real report (real audit on a tiny model, a real census of a fixture overlay,
a real layered evaluation, a real population census), re-stamps ``digests.report`` with the real
``body_digest`` and checks that the digest check passes while the re-derivation fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from engram_probe.audit.engine import REPORT_FORMAT, run_audit
from engram_probe.audit.lora import LoraSettings
from engram_probe.contracts import load_contract
from engram_probe.data.synthetic_users import generate_users
from engram_probe.hashaudit.jobs import JobInputs, OverlayInput
from engram_probe.hashaudit.report import CONTRACT_REPORT_FORMAT, build_report
from engram_probe.isolation.exposure import exposure_curve
from engram_probe.isolation.exposure_report import EXPOSURE_FORMAT, exposure_report
from engram_probe.isolation.prove_report import ISOLATION_FORMAT
from engram_probe.isolation.prove_report import build_report as isolation_report
from engram_probe.isolation.shared import table_from
from engram_probe.layered.adapter import AdapterSettings, train_shared_adapter
from engram_probe.layered.evaluate import LAYERED_FORMAT, LayeredSettings, aggregate, evaluate_layered
from engram_probe.layered.samples import adapter_corpus
from engram_probe.layered.users import load_layered_users
from engram_probe.memory import UserMemory
from engram_probe.memory.store import MemoryStore
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings
from engram_probe.report.document import finalize
from engram_probe.report.kernel import attribute, body_digest
from engram_probe.report.kinds import kinds, render_html, verify_file, write_html
from engram_probe.report.printing import save_json_report
from engram_probe.scale.population import growth_report
from engram_probe.scale.population_report import POPULATION_FORMAT, population_report
from tests.helpers import random_fact, tiny_lm

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "contracts" / "qwen_ple"
USERS = "generated:2:31:l"
OPERATOR = "Ada L"


def made(doc: dict[str, Any], path: Path) -> Path:
    """A new report as the CLI and the UI write it: attributed to its operator, then saved."""
    return save_json_report(attribute(doc, OPERATOR), path)


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real audit report of a tiny model, with the store it was made from."""
    where = tmp_path_factory.mktemp("audit")
    lm = tiny_lm(seed=4)
    res = FactWriter(lm.model, lm.tokenizer, WriteSettings(opt_steps=10)).write(
        UserMemory("alice"), [FactSpec.of("My name is", "Ada")], "opt"
    )
    store = MemoryStore(where / "m.db", lm.weights_sha256)
    store.add_facts("alice", res.facts)
    source = {"kind": "store", "path": str(where / "m.db"), "user": "alice"}
    doc = finalize(run_audit(lm, store.load("alice"), "Hello there. My name is Ada.", source))
    return {"path": made(doc, where / "audit.json"), "options": {"lm": lm, "store": store}}


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A census of two fixture overlays on the Qwen preset contract."""
    overlays = [OverlayInput(str(FIX / "alice.pleo")), OverlayInput(str(FIX / "bob.pleo"))]
    inputs = JobInputs("qwen3.8-ple", overlays=overlays)
    path = made(build_report("census", inputs), tmp_path_factory.mktemp("contract") / "c.json")
    return {"path": path, "options": {}}


@pytest.fixture(scope="module")
def layered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A layered evaluation of two test users on a tiny rotary model with a shared adapter."""
    lm = tiny_lm(seed=3, n_ctx=64, positional_embedding_type="rotary")
    trainers = generate_users(2, seed=20, prefix="a")
    adapter = train_shared_adapter(
        lm, adapter_corpus(trainers), [u["uid"] for u in trainers], AdapterSettings(steps=25)
    )
    fast = LayeredSettings(
        indirect_per_user=3,
        heldout_docs=2,
        bootstrap=200,
        write=WriteSettings(joint_steps=15),
        lora=LoraSettings(max_steps=12, min_steps=4),
    )
    users = load_layered_users(USERS, facts=5)
    doc = evaluate_layered(lm, adapter, users, fast, users_source=USERS, facts_per_user=5)
    path = made(doc, tmp_path_factory.mktemp("layered") / "l.json")
    return {"path": path, "options": {"lm": lm, "adapter": adapter}}


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A population census at two sizes on the Qwen preset contract."""
    result = growth_report(load_contract("qwen3.8-ple"), [30, 60], facts=10, seed=1)
    path = made(population_report(result, "in-process"), tmp_path_factory.mktemp("pop") / "p.json")
    return {"path": path, "options": {}}


@pytest.fixture(scope="module")
def exposure(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Exposure of one user's requests at two population sizes on the Qwen preset contract, salted."""
    result = exposure_curve(load_contract("qwen3.8-ple"), [30, 90], facts=10, probes=300, salted=True, seed=2)
    path = made(exposure_report(result, "in-process"), tmp_path_factory.mktemp("exp") / "e.json")
    return {"path": path, "options": {}}


@pytest.fixture(scope="module")
def isolation(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An isolation proof of bob against a shared table where alice writes a row bob's text reads at position 5."""
    where = tmp_path_factory.mktemp("isolation")
    lm = tiny_lm(seed=4)
    text = "Hello there. My name is Ada."
    addr = lm.model.engram_addresses(torch.tensor([lm.tokenizer.encode(text)]))[2][0]
    row = next(int(r) for r in addr[5].tolist() if int(r) not in set(addr[:5].flatten().tolist()))
    free = [r for r in range(400) if r not in set(addr.flatten().tolist())][:3]
    dim = lm.model.engram_module(2).table.weight.shape[1]
    store = MemoryStore(where / "m.db", lm.weights_sha256)
    store.add_facts("alice", [random_fact("hers", 2, [row], dim, 1)])
    store.add_facts("bob", [random_fact("his", 2, free, dim, 2)])
    table, source = table_from(lm, store, None, (), "last-write-wins")
    doc = isolation_report(lm, table, source, "bob", [text])
    return {"path": made(doc, where / "isolation.json"), "options": {"lm": lm, "store": store}}


KINDS = ["audit", "contract", "layered", "population", "isolation", "exposure"]


def forged(report: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> Path:
    """The report with ``edit`` applied and ``digests.report`` re-stamped with the real body digest."""
    doc = json.loads(report["path"].read_text(encoding="utf-8"))
    edit(doc)
    doc["digests"]["report"] = body_digest(doc)
    return save_json_report(doc, report["path"].with_name("forged-" + report["path"].name))


def failed(result: dict[str, Any]) -> list[str]:
    return [c["check"] for c in result["checks"] if not c["ok"]]


def passed(result: dict[str, Any], name: str) -> bool:
    return any(c["check"] == name and c["ok"] for c in result["checks"])


@pytest.mark.parametrize("kind", KINDS)
def test_verify_file_verifies_a_genuine_report_of_every_kind(kind: str, request: pytest.FixtureRequest) -> None:
    report = request.getfixturevalue(kind)
    result = verify_file(report["path"], **report["options"])
    assert result["ok"], result["checks"]
    assert passed(result, "report digest")


def test_a_forged_audit_claim_fails_at_the_re_run(audit: dict[str, Any]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["summary"]["read_map_hits"] += 1

    result = verify_file(forged(audit, edit), **audit["options"])
    assert not result["ok"] and passed(result, "report digest")
    assert failed(result) == ["re-run"]
    assert [m["path"] for m in result["mismatches"]] == [".summary.read_map_hits"]


def test_a_forged_contract_census_fails_at_the_re_run(contract: dict[str, Any]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["result"]["summary"]["conflicting_rows"] -= 1

    result = verify_file(forged(contract, edit))
    assert not result["ok"] and passed(result, "report digest") and passed(result, "contract digest")
    assert failed(result) == ["re-run"]
    assert [m["path"] for m in result["mismatches"]] == [".result.summary.conflicting_rows"]


def test_a_forged_layered_score_with_a_consistent_aggregate_fails_at_the_re_run(layered: dict[str, Any]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["users"][0]["conditions"]["F"]["indirect_any"] += 0.25
        doc["aggregate"] = json.loads(json.dumps(aggregate(doc["users"], doc["settings"]["bootstrap"])))

    result = verify_file(forged(layered, edit), **layered["options"])
    assert not result["ok"] and passed(result, "report digest") and passed(result, "aggregate")
    assert failed(result) == [f"re-run {layered_first_user(layered)} condition F"]


def test_a_forged_layered_aggregate_fails_where_it_is_re_derived(layered: dict[str, Any]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["aggregate"]["table"]["F"]["indirect_any"] += 0.25

    result = verify_file(forged(layered, edit), **layered["options"])
    assert not result["ok"] and passed(result, "report digest")
    assert failed(result) == ["aggregate"]


def test_a_forged_population_count_fails_at_the_re_run(population: dict[str, Any]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["result"]["sizes"][1]["rows_shared"] += 1

    result = verify_file(forged(population, edit))
    assert not result["ok"] and passed(result, "report digest") and passed(result, "contract digest")
    assert failed(result) == ["re-run"]
    assert [m["path"] for m in result["mismatches"]] == [".sizes[1].rows_shared"]


def test_a_population_report_adds_only_its_digests_to_the_census(population: dict[str, Any]) -> None:
    doc = json.loads(population["path"].read_text(encoding="utf-8"))
    assert set(doc) == {"format", "placement", "result", "environment", "created_at", "operator", "digests"}
    assert doc["digests"]["contract"] == doc["result"]["contract"]["sha256"] and len(doc["digests"]["report"]) == 64
    assert doc["environment"] == {"python": doc["environment"]["python"]}


def test_a_forged_exposure_count_fails_at_the_re_run(exposure: dict[str, Any]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["result"]["sizes"][1]["exposed_requests"] += 1

    result = verify_file(forged(exposure, edit))
    assert not result["ok"] and passed(result, "report digest")
    assert failed(result) == ["re-run"]


def test_a_forged_isolation_movement_fails_at_the_re_run(isolation: dict[str, Any]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["probes"][0]["movement"][0]["total_variation"] /= 2

    result = verify_file(forged(isolation, edit), **isolation["options"])
    assert not result["ok"] and passed(result, "report digest") and passed(result, "table digest")
    assert failed(result) == ["re-run"]
    assert [m["path"] for m in result["mismatches"]] == [".probes[0].movement[0].total_variation"]


def test_a_forged_isolation_verdict_fails_at_the_re_run(isolation: dict[str, Any]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["summary"]["status"] = "holds"

    result = verify_file(forged(isolation, edit), **isolation["options"])
    assert not result["ok"] and passed(result, "report digest")
    assert failed(result) == ["re-run", "verdict"]


def test_an_unknown_format_is_refused_in_one_line_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"format": "someone-else/2", "digests": {}}))
    result = verify_file(bad)
    assert failed(result) == ["readable report"]
    detail = result["checks"][0]["detail"]
    assert detail.startswith("other.json is not an engram-probe report (format 'someone-else/2')")
    assert "\n" not in detail
    assert "population (engram-probe-population-census/1)" in detail
    truncated = tmp_path / "half.json"
    truncated.write_text(json.dumps({"format": POPULATION_FORMAT}))
    lacking = verify_file(truncated)["checks"][0]["detail"]
    assert lacking == "half.json lacks the 'placement' section of a population report"


def test_the_registry_formats_are_the_ones_the_writers_stamp() -> None:
    formats = {k.name: k.format for k in kinds()}
    assert formats == {
        "audit": REPORT_FORMAT,
        "contract": CONTRACT_REPORT_FORMAT,
        "layered": LAYERED_FORMAT,
        "population": POPULATION_FORMAT,
        "isolation": ISOLATION_FORMAT,
        "exposure": EXPOSURE_FORMAT,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_to_a_standalone_page(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    doc = json.loads(request.getfixturevalue(kind)["path"].read_text(encoding="utf-8"))
    page = render_html(doc)
    assert page.startswith("<!doctype html>") and page.endswith("</body></html>") and "<table>" in page
    assert doc["digests"]["report"] in page  # every page shows the digest it can be re-verified by
    written = write_html(doc, tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    # plotly gives every chart a fresh random element id; the pages are otherwise the same bytes
    ids = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    assert ids.sub("ID", written) == ids.sub("ID", page)


def documented_fields(fmt: str) -> tuple[set[str], set[str]]:
    """(every top-level field, the optional ones) from docs/report-format.md's "Top level (`fmt`)" table."""
    text = (ROOT / "docs" / "report-format.md").read_text(encoding="utf-8")
    assert f"Top level (`{fmt}`)\n" in text, f"docs/report-format.md has no top-level table for {fmt}"
    lines = text.split(f"Top level (`{fmt}`)\n", 1)[1].strip("\n").split("\n\n", 1)[0].splitlines()
    names, optional = set(), set()
    for line in lines[2:]:  # past the header and the rule
        cells = line.strip().strip("|").split(" | ")
        found = set(re.findall(r"`([a-z_0-9]+)`", cells[0]))
        names |= found
        if cells[-1].strip().startswith("only "):
            optional |= found
    return names, optional


@pytest.mark.parametrize("kind", KINDS)
def test_report_format_doc_names_every_top_level_field_and_no_other(kind: str, request: pytest.FixtureRequest) -> None:
    doc = json.loads(request.getfixturevalue(kind)["path"].read_text(encoding="utf-8"))
    names, optional = documented_fields(doc["format"])
    assert set(doc) <= names, f"undocumented: {sorted(set(doc) - names)}"
    assert names - optional <= set(doc), f"documented but absent: {sorted(names - optional - set(doc))}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_records_who_made_it_and_shows_it_on_its_page(kind: str, request: pytest.FixtureRequest) -> None:
    doc = json.loads(request.getfixturevalue(kind)["path"].read_text(encoding="utf-8"))
    assert doc["operator"] == {"name": OPERATOR}
    assert body_digest(doc) == doc["digests"]["report"]  # the name is under the digest
    assert OPERATOR in render_html(doc)  # "Created … by Ada L", or the audit page's "made by" row


def layered_first_user(layered: dict[str, Any]) -> str:
    return json.loads(layered["path"].read_text(encoding="utf-8"))["users"][0]["user"]
