"""The bit-exact proof and the change figures of a paired run: raw bytes of every hook at every untouched position."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engram_probe.audit.paired import PairedRun, residual_hooks
from engram_probe.audit.readmap import UNTOUCHED

_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def bits(t: Tensor) -> Tensor:
    """The same memory viewed as integers: equality of these is equality of raw bytes.

    A same-width dtype view needs no copy, whatever the strides."""
    if t.dtype == torch.bool:
        return t.to(torch.uint8)
    return t.view(_BITS[t.element_size()])


_NP_BITS = {1: np.uint8, 2: np.int16, 4: np.int32, 8: np.int64}


def _int_view(t: Tensor) -> np.ndarray:
    """A numpy array of the tensor's bytes as same-width integers (shares memory on CPU)."""
    a = (t.detach() if t.requires_grad else t).numpy()
    return a.view(_NP_BITS[a.itemsize])


def runs(positions: Sequence[int]) -> list[tuple[int, int]]:
    """Contiguous (start, length) runs of sorted positions."""
    out: list[tuple[int, int]] = []
    for t in positions:
        if out and out[-1][0] + out[-1][1] == t:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((t, 1))
    return out


def _differing_pairs(a: Tensor, b: Tensor, name: str, axis: int, spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Every untouched (hook, position) pair of one hook whose bytes differ, with its largest difference."""
    out = []
    for start, length in spans:
        for t in range(start, start + length):
            pa, pb = a.select(axis, t), b.select(axis, t)
            if torch.equal(bits(pa), bits(pb)):
                continue
            diff = (pa.double() - pb.double()).abs()
            finite = diff[torch.isfinite(diff)]
            out.append(
                {
                    "hook": name,
                    "position": t,
                    "max_abs_diff": float(finite.max()) if finite.numel() else float("nan"),
                    "values_differing": int((bits(pa) != bits(pb)).sum()),
                }
            )
    return out


class ByteProof:
    """The bit-exact proof, fed one hook at a time (see :func:`bit_exact_proof`).

    Each contiguous run of untouched positions is compared at once per hook, as integer views
    of the same memory (so -0.0 differs from 0.0 and NaNs compare by payload); only a run that
    differs is examined position by position. Fed hook by hook, neither run needs to be kept whole.
    """

    def __init__(self, classes: Sequence[str]) -> None:
        self.untouched = [t for t, c in enumerate(classes) if c == UNTOUCHED]
        self.spans = runs(self.untouched)
        self.windows: dict[int, list[tuple[slice, ...]]] = {}
        self.pairs = self.values = self.nbytes = 0
        self.per_hook: dict[str, list[dict[str, Any]]] = {}

    def _windows(self, axis: int) -> list[tuple[slice, ...]]:
        if axis not in self.windows:
            self.windows[axis] = [(*(slice(None),) * axis, slice(s, s + n)) for s, n in self.spans]
        return self.windows[axis]

    def add(self, name: str, a: Tensor, b: Tensor, axis: int) -> None:
        """Compare hook ``name``'s base value ``a`` with its edited value ``b`` at every untouched position.

        ``axis`` is the hook's declared position axis."""
        found: list[dict[str, Any]] = []
        self.per_hook[name] = found
        # numpy integer views of the recorded memory (no copy): per call, numpy costs a fraction of torch
        ia, ib = _int_view(a), _int_view(b)
        if ia.shape != ib.shape or a.dtype != b.dtype:
            found.append({"hook": name, "position": None, "reason": "shape or dtype differs"})
            return
        per_position = ia.size // ia.shape[axis]
        n_untouched = len(self.untouched)
        self.pairs += n_untouched
        self.values += per_position * n_untouched
        self.nbytes += per_position * n_untouched * ia.itemsize
        for i, where in enumerate(self._windows(axis)):
            if not (ia[where] == ib[where]).all():
                found += _differing_pairs(a, b, name, axis, [self.spans[i]])

    def result(self) -> dict[str, Any]:
        """The proof over every hook added, its mismatches listed in hook-name order."""
        mismatches = [m for name in sorted(self.per_hook) for m in self.per_hook[name]]
        return {
            "untouched_positions": self.untouched,
            "hooks": len(self.per_hook),
            "pairs_compared": self.pairs,
            "values_compared": self.values,
            "bytes_compared": self.nbytes,
            "identical": not mismatches,
            "mismatches": mismatches[:200],
            "mismatch_count": len(mismatches),
            "method": "raw bytes: each hook value at the untouched positions, viewed as same-width integers and "
            "compared for exact equality (a differing run is re-checked position by position); same input tensor, "
            "dtype and thread count for both runs",
        }


def bit_exact_proof(run: PairedRun, classes: Sequence[str], hooks: Sequence[str] | None = None) -> dict[str, Any]:
    """Compare raw bytes of every hook value at every untouched position of a kept paired run.

    Returns counts of (hook, position) pairs, scalar values and bytes compared, whether all are
    identical, and every pair that is not (as a finding, with its largest difference).
    """
    proof = ByteProof(classes)
    for name in sorted(hooks if hooks is not None else run.base):
        proof.add(name, run.base[name], run.edited[name], run.axis(name))
    return proof.result()


def _norm(t: Tensor) -> float:
    return float(t.double().norm())


def change_sizes(
    run: PairedRun, classes: Sequence[str], engram_layers: Sequence[int], n_layers: int
) -> list[dict[str, Any]]:
    """Per changed-class position and layer: residual change (raw and relative) and its channels.

    The conv channel (``engram_conv``: the dilated conv, which reaches t+3, t+6, t+9) and the
    attention channel (``attn_out``) are reported separately, as are the Engram value path
    and the MLP.
    """
    out = []
    for t, cls in enumerate(classes):
        if cls == UNTOUCHED:
            continue
        for i in range(n_layers):

            def delta(name: str, t: int = t) -> Tensor:
                return run.edited[name][0, t] - run.base[name][0, t]

            resid = f"blocks.{i}.hook_resid_post"
            base_norm = _norm(run.base[resid][0, t])
            d_resid = _norm(delta(resid))
            row: dict[str, Any] = {
                "position": t,
                "class": cls,
                "layer": i,
                "resid_post": d_resid,
                "resid_post_relative": d_resid / base_norm if base_norm else 0.0,
                "attn_out": _norm(delta(f"blocks.{i}.hook_attn_out")),
                "mlp_out": _norm(delta(f"blocks.{i}.hook_mlp_out")),
            }
            if i in engram_layers:
                row["engram_value"] = _norm(delta(f"blocks.{i}.engram.hook_value"))
                row["engram_conv"] = _norm(delta(f"blocks.{i}.engram.hook_conv"))
                row["gate_delta"] = float(
                    run.edited[f"blocks.{i}.engram.hook_gate"][0, t] - run.base[f"blocks.{i}.engram.hook_gate"][0, t]
                )
            out.append(row)
        final = "ln_final.hook_normalized"
        out.append(
            {
                "position": t,
                "class": cls,
                "layer": "final",
                "final_normalized": _norm(run.edited[final][0, t] - run.base[final][0, t]),
                "logits": _norm(run.edited["hook_logits"][0, t] - run.base["hook_logits"][0, t]),
            }
        )
    return out


def weight_independent(name: str, position: int, token_determined: Sequence[str]) -> bool:
    """A (hook, position) value that no weight change can alter.

    Either the hook depends on the token ids alone, or it is the attention pattern at query
    position 0, which is a softmax over a single key and therefore always exactly 1.
    """
    return name in token_determined or (name.endswith("attn.hook_pattern") and position == 0)


class ChangedFraction:
    """Fraction of (hook, position) pairs, and of scalar values, whose bytes differ, fed one hook at a time.

    Pairs that are weight-independent (see :func:`weight_independent`) are left out and counted.
    """

    def __init__(self, positions: Sequence[int], token_determined: Sequence[str] = ()) -> None:
        self.positions = list(positions)
        self.token_determined = list(token_determined)
        self.pairs = self.changed_pairs = self.values = self.changed_values = self.skipped = 0

    def add(self, name: str, a: Tensor, b: Tensor, axis: int) -> None:
        """Count hook ``name``'s changed pairs and values at the chosen positions (``axis``: its position axis)."""
        for t in self.positions:
            if weight_independent(name, t, self.token_determined):
                self.skipped += 1
                continue
            sa, sb = a.select(axis, t), b.select(axis, t)
            self.pairs += 1
            self.values += sa.numel()
            self.changed_values += int((bits(sa) != bits(sb)).sum())
            self.changed_pairs += not torch.equal(bits(sa), bits(sb))

    def result(self) -> dict[str, Any]:
        pairs, values = self.pairs, self.values
        return {
            "positions": len(self.positions),
            "pairs": pairs,
            "pairs_changed": self.changed_pairs,
            "changed_fraction": self.changed_pairs / pairs if pairs else 0.0,
            "values": values,
            "values_changed": self.changed_values,
            "values_changed_fraction": self.changed_values / values if values else 0.0,
            "weight_independent_pairs_skipped": self.skipped,
            "token_determined_hooks": self.token_determined,
        }


def changed_fraction(run: PairedRun, positions: Sequence[int], token_determined: Sequence[str] = ()) -> dict[str, Any]:
    """:class:`ChangedFraction` over every hook of a kept paired run."""
    counter = ChangedFraction(positions, token_determined)
    for name in sorted(run.base):
        counter.add(name, run.base[name], run.edited[name], run.axis(name))
    return counter.result()


def delta_matrix(run: PairedRun, n_layers: int) -> dict[str, Any]:
    """||edited - base|| per (stream, position) for the residual stream, with exact-zero flags.

    Rows: the block-0 input, each block's output residual, and the logits. ``exact`` is True
    where the bytes are identical (not merely small), so a figure can mark true zeros.
    """
    names = residual_hooks(n_layers)
    labels = ["input"] + [f"block {i} out" for i in range(n_layers)] + ["logits"]
    values, exact = [], []
    for name in names:
        a, b = run.base[name][0], run.edited[name][0]
        values.append([float((b[t].double() - a[t].double()).norm()) for t in range(a.shape[0])])
        exact.append([torch.equal(bits(a[t]), bits(b[t])) for t in range(a.shape[0])])
    return {"rows": labels, "hooks": names, "values": values, "exact": exact}
