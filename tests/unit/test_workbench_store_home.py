"""The app's store is in a stable per-user folder by default, so a report can be re-verified after a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engram_probe.memory import UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings
from tests.helpers import write_tiny_workbench
from workbench.state import default_workdir, make_state


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
    write_tiny_workbench(out)
    return out


def test_the_default_folder_follows_xdg_data_home_or_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = "ab" * 32
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_workdir(digest) == tmp_path / "data" / "engram-workbench" / digest[:16]
    monkeypatch.setenv("XDG_DATA_HOME", "relative/not/used")  # the XDG rule: a relative path is ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_workdir(digest) == tmp_path / "home" / ".local" / "share" / "engram-workbench" / digest[:16]
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_workdir(digest) == tmp_path / "home" / ".local" / "share" / "engram-workbench" / digest[:16]


def test_a_restarted_app_finds_its_users_in_the_default_store(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    first = make_state(model_dir, demo=False)
    assert first.store_kept and first.workdir == default_workdir(first.lm.weights_sha256)
    assert first.workdir.is_relative_to(tmp_path / "data")
    res = FactWriter(first.lm.model, first.lm.tokenizer, WriteSettings(opt_steps=2)).write(
        UserMemory("alice"),
        [FactSpec.of("My name is", "Ada")],
        "opt",
    )
    first.store.add_facts("alice", res.facts)
    digest = first.store.load("alice").digest()
    first.store.close()
    again = make_state(model_dir, demo=False)  # a restart: same model, no work folder given
    assert again.workdir == first.workdir and again.store.load("alice").digest() == digest
    again.store.close()
    given = make_state(model_dir, tmp_path / "given", demo=False)  # tests and operators still choose their own
    assert not given.store_kept and given.workdir == tmp_path / "given" and not given.store.has_user("alice")
    given.store.close()


def test_the_ui_says_where_its_store_is_kept(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.app import build_app

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for workdir, words in ((None, "after a restart"), (tmp_path / "w", "work folder of its own choosing")):
        state = make_state(model_dir, workdir, demo=False)
        try:
            config: Any = build_app(state).get_config_file()
        finally:
            state.store.close()
        note = next(c["props"]["value"] for c in config["components"] if c["props"].get("elem_id") == "verify-store")
        assert "matched by digest" in note and words in note
        assert str(tmp_path) not in json.dumps(note)  # no server path in the page
