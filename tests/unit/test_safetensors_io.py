"""The one reader behind every safetensors input: whole reads, one error for every unreadable file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from engram_probe.safetensors_io import UnreadableSafetensors, read_all, read_metadata


def written(tmp_path: Path) -> Path:
    path = tmp_path / "rows.safetensors"
    save_file({"a": torch.arange(6, dtype=torch.float32).view(2, 3), "b": torch.ones(4)}, str(path), {"format": "x/1"})
    return path


def test_reads_metadata_and_every_tensor_in_both_frameworks(tmp_path: Path) -> None:
    path = written(tmp_path)
    assert read_metadata(path) == {"format": "x/1"}
    meta, tensors = read_all(path)
    assert meta == {"format": "x/1"} and set(tensors) == {"a", "b"}
    assert torch.equal(tensors["a"], torch.arange(6, dtype=torch.float32).view(2, 3))
    _, arrays = read_all(path, "np")
    assert isinstance(arrays["b"], np.ndarray) and arrays["b"].tobytes() == np.ones(4, np.float32).tobytes()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing"])
def test_every_unreadable_file_raises_one_error_type(tmp_path: Path, damage: str) -> None:
    path = written(tmp_path)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-7])
    elif damage == "garbage":
        path.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{not json")
    else:
        path = tmp_path / "absent.safetensors"
    with pytest.raises(UnreadableSafetensors):
        read_all(path)
    if damage != "truncated":  # the header of a file cut in its data section is still readable
        with pytest.raises(UnreadableSafetensors):
            read_metadata(path)
