"""Storage of a user's rows at the contract's real row format, next to a per-user LoRA (computed, not measured)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engram_probe.contracts.base import AddressContract
from engram_probe.overlays.rowset import OverlayRows

LORA_FORMULA = "bytes = r × Σ_targets (d_in + d_out) × n_layers × 2 (bf16); targets: Q, K, V, O as d_model × d_model"


@dataclass(frozen=True)
class LoraShape:
    """What a per-user LoRA's size depends on."""

    d_model: int
    n_layers: int
    source: str


def lora_shape(contract: AddressContract, config: dict[str, Any] | None) -> LoraShape | None:
    """d_model and n_layers from a model config (any of the known field names), or None if unknown."""
    cfg = (config or {}).get("text_config", config or {})
    d = next((cfg[k] for k in ("hidden_size", "d_model", "n_embd", "qwen4exp.embedding_length") if k in cfg), None)
    n = next((cfg[k] for k in ("num_hidden_layers", "n_layers", "n_layer", "qwen4exp.block_count") if k in cfg), None)
    if isinstance(d, int) and isinstance(n, int):
        return LoraShape(d, n, f"{contract.name} config")
    return None


def lora_bytes(shape: LoraShape, rank: int) -> int:
    return rank * 4 * (shape.d_model + shape.d_model) * shape.n_layers * 2


def storage_report(
    contract: AddressContract, overlays: list[OverlayRows], shape: LoraShape | None, rank: int = 16
) -> dict[str, Any]:
    """Rows × bytes per row for each user, and a rank-r LoRA of the same model, with the formulas shown."""
    fmt = contract.row_format
    users = []
    for o in overlays:
        n = o.n_rows
        entry: dict[str, Any] = {
            "user": o.user,
            "rows": n,
            "bytes": n * fmt.bytes_per_row,
            "bytes_by_encoding": {fmt.encoding: n * fmt.bytes_per_row, **{e: n * b for e, b in fmt.alternatives}},
        }
        if shape is not None:
            lb = lora_bytes(shape, rank)
            entry["lora_bytes"] = lb
            entry["rows_over_lora"] = entry["bytes"] / lb if lb else None
        users.append(entry)
    return {
        "kind": "computed",
        "row_format": fmt.as_dict(),
        "rows_formula": f"bytes = rows × {fmt.bytes_per_row} B ({fmt.encoding})",
        "lora": None
        if shape is None
        else {
            "rank": rank,
            "d_model": shape.d_model,
            "n_layers": shape.n_layers,
            "bytes": lora_bytes(shape, rank),
            "formula": LORA_FORMULA,
            "source": shape.source,
        },
        "lora_note": None
        if shape is not None
        else "give the model's config (hidden size and layer count) to compare with a per-user LoRA",
        "users": users,
    }
