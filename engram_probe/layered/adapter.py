"""The shared reasoning adapter: one PEFT LoRA for every user, kept as a file with provenance.

Attaching it builds a private copy of the model (``blank_copy``) with the adapter injected; the shared
weights and every user's rows are never changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from engram_probe.arch.base import EngramModelBase
from engram_probe.arch.loaded import LoadedModel
from engram_probe.arch.weights import tensors_digest
from engram_probe.audit.lora import lora_copy
from engram_probe.layered.settings import AdapterSettings
from engram_probe.memory.writing import Progress
from engram_probe.safetensors_io import UnreadableSafetensors, read_all

ADAPTER_FORMAT = "engram-probe-shared-adapter/1"


class AdapterError(ValueError):
    """An adapter file that is unreadable, damaged, or made for another model."""


@dataclass
class SharedAdapter:
    state: dict[str, torch.Tensor]
    settings: AdapterSettings
    provenance: dict[str, Any]

    @property
    def digest(self) -> str:
        return tensors_digest(self.state)

    @property
    def params(self) -> int:
        return sum(t.numel() for t in self.state.values())

    def describe(self) -> dict[str, Any]:
        return {"sha256": self.digest, "params": self.params, "settings": asdict(self.settings), **self.provenance}

    def attach(self, model: EngramModelBase) -> EngramModelBase:
        """A private copy of ``model`` with this adapter applied (frozen, eval mode)."""
        clone = _inject(model, self.settings)
        names = {n for n, _ in clone.named_parameters() if "lora_" in n}
        if names != set(self.state):
            raise AdapterError(
                f"the adapter's tensors do not fit this model ({len(set(self.state) - names)} unexpected, "
                f"{len(names - set(self.state))} missing)"
            )
        clone.load_state_dict(self.state, strict=False)
        clone.eval()
        for p in clone.parameters():
            p.requires_grad_(False)
        return clone

    def save(self, path: str | Path) -> Path:
        """Write atomically: a damaged or partial file never replaces a good one."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": ADAPTER_FORMAT,
            "settings": json.dumps(asdict(self.settings), sort_keys=True),
            "provenance": json.dumps(self.provenance, sort_keys=True),
            "sha256": self.digest,
        }
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        os.close(fd)
        try:
            save_file({k: v.contiguous() for k, v in self.state.items()}, tmp, metadata=meta)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return out


def _inject(model: EngramModelBase, s: AdapterSettings) -> EngramModelBase:
    return lora_copy(model, s.rank, s.alpha, s.target_modules)


def load_adapter(path: str | Path, lm: LoadedModel) -> SharedAdapter:
    """Read an adapter file; refuse one that is damaged or was trained on another base model."""
    p = Path(path)
    if not p.is_file():
        raise AdapterError(f"no adapter file at {p}")
    try:
        meta, state = read_all(p)
    except UnreadableSafetensors as exc:
        raise AdapterError(f"adapter file {p} is truncated or corrupt ({exc})") from exc
    if meta.get("format") != ADAPTER_FORMAT:
        raise AdapterError(f"{p.name} is not a shared adapter (format {meta.get('format')!r})")
    adapter = SharedAdapter(state, AdapterSettings(**json.loads(meta["settings"])), json.loads(meta["provenance"]))
    if adapter.digest != meta.get("sha256"):
        raise AdapterError(f"adapter {p.name} does not match its recorded digest: the file was modified")
    base = adapter.provenance.get("base_model_sha256")
    if base != lm.weights_sha256:
        raise AdapterError(
            f"adapter {p.name} was trained on model {str(base)[:12]}…, not on the loaded model "
            f"{lm.weights_sha256[:12]}…"
        )
    return adapter


FOLDER_SOURCE = "the engram-peft adapter folder's own PEFT LoRA"


def folder_lora_info(lm: LoadedModel) -> dict[str, Any] | None:
    """What the loader recorded of the LoRA in the model's engram-peft adapter folder (None: there is none)."""
    imported = lm.training.get("imported_from")
    lora = imported.get("lora") if isinstance(imported, dict) else None
    return lora if isinstance(lora, dict) and lm.engram_path is not None else None


def folder_adapter(lm: LoadedModel) -> SharedAdapter | None:
    """The shared adapter of an engram-peft model whose adapter folder also holds a PEFT LoRA (None otherwise).

    The folder is read again, with the checks of the load, and must hold the LoRA the model was loaded with
    (same digest). It was trained outside the workbench, so its settings carry only rank, alpha and the target
    modules (steps 0, lr 0).
    """
    from engram_probe.arch.hf_engram import HFEngramModel
    from engram_probe.arch.hf_engram_lora import LORA_PICKLE, read_folder_lora
    from engram_probe.arch.loaded import ModelFileError

    info = folder_lora_info(lm)
    if info is None or lm.engram_path is None or not isinstance(lm.model, HFEngramModel):
        return None
    trusted = Path(info["weights"]).name == LORA_PICKLE  # a pickle the load was allowed to read
    try:
        lora = read_folder_lora(Path(lm.engram_path), lm.model.hf, trusted)
    except ModelFileError as exc:
        raise AdapterError(str(exc)) from exc
    if lora is None or lora.digest != info["sha256"]:
        raise AdapterError(
            f"the PEFT LoRA in {lm.engram_path} changed after the model was loaded "
            f"(sha256 {info['sha256'][:12]}… at load); load the model again"
        )
    settings = AdapterSettings(rank=lora.rank, alpha=lora.alpha, target_modules=lora.targets, lr=0.0, steps=0)
    provenance = {
        "base_model_sha256": lm.weights_sha256,
        "source": FOLDER_SOURCE,
        **{k: v for k, v in lora.describe().items() if k in ("config", "weights", "target_modules", "modules")},
    }
    return SharedAdapter(lora.state, settings, provenance)


def train_shared_adapter(
    lm: LoadedModel,
    samples: list[str],
    training_users: list[str],
    settings: AdapterSettings | None = None,
    progress: Progress | None = None,
) -> SharedAdapter:
    """Next-token loss over whole samples, one random sample per step (the paper's recipe)."""
    s = settings or AdapterSettings()
    if not samples:
        raise ValueError("no training samples for the shared adapter")
    torch.manual_seed(s.seed)
    rng = random.Random(s.seed)
    clone = _inject(lm.model, s)
    trainable = [p for n, p in clone.named_parameters() if "lora_" in n]
    for n, p in clone.named_parameters():
        p.requires_grad_("lora_" in n)
    max_len = min(s.max_len, lm.model.max_tokens)
    encoded = [ids[:max_len] for ids in (lm.tokenizer.encode(t) for t in samples) if len(ids) >= 2]
    opt = torch.optim.Adam(trainable, lr=s.lr)
    clone.train()
    t0 = time.perf_counter()
    recent: list[float] = []
    for step in range(s.steps):
        ids = torch.tensor([encoded[rng.randrange(len(encoded))]])
        logits = clone(ids)[0, :-1]
        loss = F.cross_entropy(logits, ids[0, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        recent = (recent + [loss.item()])[-100:]
        if progress:
            progress(step + 1, s.steps, f"shared adapter loss {sum(recent) / len(recent):.3f}")
    state = {n: p.detach().clone() for n, p in clone.named_parameters() if "lora_" in n}
    provenance = {
        "base_model_sha256": lm.weights_sha256,
        "training_users": list(training_users),
        "samples": len(encoded),
        "samples_sha256": hashlib.sha256("\x00".join(samples).encode("utf-8")).hexdigest(),
        "final_loss_mean_last_100": sum(recent) / len(recent),
        "train_seconds": round(time.perf_counter() - t0, 1),
        "torch": torch.__version__,
    }
    return SharedAdapter(state, s, provenance)
