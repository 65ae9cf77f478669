"""Workbench state: the loaded model, the store, demo users, and the per-user LoRA cache."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engram_probe.arch.loaded import LoadedModel
from engram_probe.arch.loading import open_model
from engram_probe.arch.workbench_checkpoint import weights_digest
from engram_probe.audit.contrasts import lora_training_set
from engram_probe.audit.lora import LoraResult, LoraSettings, train_user_lora
from engram_probe.contracts.workbench_config import DEFAULT_LAYER
from engram_probe.data.synthetic_users import generate_users
from engram_probe.memory.answers import AnswerError, answer_tokens
from engram_probe.memory.operations import open_store, specs_from_user_record, write_facts
from engram_probe.memory.store import MemoryStore
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import FactSpec, Progress, WriteSettings
from workbench.access import AccessPolicy
from workbench.limits import TokenBudget

DEMO_USERS = 3
DEMO_FACTS = 6


@dataclass
class WorkbenchState:
    lm: LoadedModel
    store: MemoryStore
    workdir: Path
    access: AccessPolicy = field(default_factory=AccessPolicy)
    budget: TokenBudget = field(default_factory=TokenBudget)
    downloads: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="engram-workbench-downloads-")))
    store_kept: bool = False  # the store is in the stable per-user folder (kept across restarts), not a given one
    demo_probes: dict[str, str] = field(default_factory=dict)
    layered: Any = None  # workbench.layered.LayeredState, made on first use of the Layered memory tab
    sign_key: Any = None  # the Ed25519 private key given at start-up to sign exports with (in memory only)
    _lora: dict[tuple[str, str, str], LoraResult] = field(default_factory=dict)
    _lora_locks: dict[tuple[str, str, str], threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_digest_now(self) -> str:
        """Recomputed from the live weights (not the digest recorded at load)."""
        return weights_digest(self.lm.model)

    def memory(self, user_id: str, view: str = "view") -> UserMemory:
        """A user's memory for the current operator: refused without read rights; the read is recorded."""
        op = self.access.require("read", user_id)
        memory = self.store.load(user_id)
        self.store.record_read(user_id, op.name, view)
        return memory

    def download_dir(self) -> Path:
        """A fresh folder for one request's downloads (outside the work folder, which the server never serves)."""
        return Path(tempfile.mkdtemp(dir=self.downloads))

    def lora_for(
        self, memory: UserMemory, target: float, settings: LoraSettings, progress: Progress | None = None
    ) -> tuple[LoraResult, bool]:
        """The per-user LoRA for this exact fact set, trained once and cached; (result, was_cached)."""
        key = (memory.user_id, memory.digest(), repr(settings))
        with self._guard:
            lock = self._lora_locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._lora:
                return self._lora[key], True
            prompts, answers = lora_training_set(self.lm, memory.facts)  # whole answers, as the contrast's
            res = train_user_lora(self.lm.model, prompts, answers, self.lm.tokenizer.bos_id, target, settings, progress)
            self._lora[key] = res
            return res, False


def demo_probe(user: dict[str, Any]) -> str:
    from engram_probe.data.synthetic_users import fact_prompt

    prompt, answer = fact_prompt(user["facts"][0])
    return f"We met at the station on Monday and talked about the weather. {prompt} {answer}, by the way."


def _encodable(lm: LoadedModel, spec: FactSpec) -> bool:
    """Whether this model's tokenizer spells the demo fact's answer (a word-level tokenizer may not know a name)."""
    try:
        answer_tokens(lm.tokenizer, spec.triggers[0], spec.answer)
    except AnswerError:
        return False
    return True


def seed_demo_users(
    lm: LoadedModel,
    store: MemoryStore,
    n_users: int = DEMO_USERS,
    n_facts: int = DEMO_FACTS,
    on_user: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Write the first facts of a few generated users (prefix 'd'); return a demo probe per user."""
    probes = {}
    settings = WriteSettings()
    for user in generate_users(n_users, seed=7, prefix="d"):
        uid = user["uid"]
        if not store.has_user(uid):
            specs = [s for s in specs_from_user_record(user) if _encodable(lm, s)][:n_facts]
            if not specs:  # a brought model whose tokenizer knows none of the demo answers
                continue
            write_facts(lm, store, uid, specs, "opt", DEFAULT_LAYER, settings)
        probes[uid] = demo_probe(user)
        if on_user:
            on_user(uid)
    return probes


def default_workdir(model_digest: str) -> Path:
    """Where the store goes when no work folder is given: one stable folder per user and model, so a report exported
    today can be re-verified after a restart: ``$XDG_DATA_HOME/engram-workbench/<first 16 hex digits of the model's
    weights digest>``, with ``~/.local/share`` when ``XDG_DATA_HOME`` is not set (or not an absolute path)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "engram-workbench" / model_digest[:16]


def make_state(
    model_dir: str | Path | None = None,
    workdir: str | Path | None = None,
    demo: bool = True,
    access: AccessPolicy | None = None,
    engram: str | Path | None = None,
) -> WorkbenchState:
    """The model (an engram-peft adapter on a Hugging Face base when ``engram`` is given), its store and demo users.

    The store is ``workdir/memory.db``; without a ``workdir`` it is in ``default_workdir`` and kept across restarts."""
    lm = open_model(model_dir, engram=engram)
    wd = Path(workdir) if workdir else default_workdir(lm.weights_sha256)
    wd.mkdir(parents=True, exist_ok=True)
    store = open_store(wd / "memory.db", lm, "create")
    state = WorkbenchState(lm, store, wd, access or AccessPolicy(), store_kept=workdir is None)
    if demo:
        state.demo_probes = seed_demo_users(lm, store, on_user=lambda u: print(f"[workbench] demo user {u} ready"))
    return state
