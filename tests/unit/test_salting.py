"""Salting as a contract option: salted views of the multiply-XOR contracts, and a model that reads at a salt.

Salted goldens come from an independent scratch transcription run outside this repository (plain Python
integers, one position and one shift at a time, ``hashlib`` for the user salt): the V4.1-Flash preset's
multipliers re-drawn with ``numpy.random.default_rng(10007 * 1)`` and its primes re-found by trial division above
16,000,000 - 1; the Qwen3.8-Flash-Next PLE preset from its published multipliers and the first 16 primes above
20,000,003 - 1, with explicit mod-2^64 masking and the EOS cut. The same script reproduced the unsalted rows
that ``test_contract_goldens.py`` checks before it salted them. Only the numbers are committed.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
import torch

from engram_probe.contracts import AddressContract, ContractError, load_contract
from engram_probe.contracts.base import user_salt
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings
from tests.helpers import raw_bytes, tiny_lm

SALT_ALICE, SALT_BOB = 3159282601090220207, 123347444893402842
V41_IDS = [5, 17, 99_091, 3, 3, 42]  # compressed ids (the preset has no tokenizer), layer 1, last position
V41_LAST = [4962484, 30846763, 46291457, 57852058, 67204935, 80992516, 111887108, 114100166, 131961394, 152285053,
            162135892, 177591935, 204729163, 218303021, 238670360, 249183620, 269537751, 283030257, 303150050,
            308301502, 323547828, 348134961, 359713248, 374163854]  # fmt: skip
V41_LAST_ALICE = [4356269, 28787989, 37419383, 62022996, 70770469, 82177603, 104473415, 112474738, 140616755,
                  147108692, 170970450, 189347005, 205672175, 219163504, 238061271, 245840931, 269035627, 280235925,
                  290883040, 306590846, 323279167, 341635923, 361467124, 370362558]  # fmt: skip
PLE_IDS = [9, 248_044, 1_000, 77_777]  # raw ids with an EOS cut, the PLE table, last position
PLE_LAST = [14227118, 32449512, 42956269, 67228772, 86628013, 100058833, 120484177, 148238985, 170878504, 189682810,
            211779675, 235853921, 245585282, 275348152, 298609518, 314967803]  # fmt: skip
PLE_LAST_ALICE = [16092500, 25987465, 43639379, 67381008, 81972123, 107412831, 126114718, 158726913, 170012904,
                  180649960, 209127496, 235288051, 246285375, 277823692, 295123372, 302522518]  # fmt: skip

FAST = WriteSettings(opt_steps=5, opt_max_steps=0)


def test_user_salt_is_sha256_masked_to_63_bits() -> None:
    assert user_salt("alice") == SALT_ALICE and user_salt("bob") == SALT_BOB
    assert 0 < user_salt("carol") < 2**63
    with pytest.raises(ContractError, match="user id"):
        user_salt("")


@pytest.mark.parametrize(
    ("name", "ids", "layer", "plain", "salted"),
    [("deepseek-v4.1", V41_IDS, 1, V41_LAST, V41_LAST_ALICE), ("qwen3.8-ple", PLE_IDS, 0, PLE_LAST, PLE_LAST_ALICE)],
)
def test_salted_goldens(name: str, ids: list[int], layer: int, plain: list[int], salted: list[int]) -> None:
    contract = load_contract(name)
    view = contract.salted(SALT_ALICE)
    assert contract.salted(0) is contract
    assert contract.addresses(np.array(ids), layer)[-1].tolist() == plain
    assert view.addresses(np.array(ids), layer)[-1].tolist() == salted
    assert contract.addresses(np.array(ids), layer)[-1].tolist() == plain  # the view left the contract alone
    assert view.digest() != contract.digest() and view.to_json()["salt"]["value"] == SALT_ALICE
    assert "salt" not in contract.to_json()


def test_per_sequence_salts_match_one_salt_at_a_time() -> None:
    contract = load_contract("deepseek-v4.1")
    batch = np.array([V41_IDS, V41_IDS, V41_IDS[::-1]])
    salts = np.array([[SALT_ALICE], [0], [SALT_BOB]], dtype=np.int64)
    got = contract.salted(salts).addresses(batch, 14)
    for i, s in enumerate(salts[:, 0].tolist()):
        assert np.array_equal(got[i], contract.salted(s).addresses(batch[i], 14))


class _TableContract(AddressContract):
    """A contract that looks its rows up in a table (no multiply-XOR mix): it cannot be salted."""

    name, version, layers, source = "lookup-table", "1", (0,), "test"

    def columns(self, layer: int) -> list[Any]:
        return []

    def addresses_by_column(self, token_ids: np.ndarray, layer: int) -> np.ndarray:
        return np.zeros((0, *np.shape(token_ids)), dtype=np.int64)

    def spec(self) -> dict[str, Any]:
        return {}


def test_salting_refused_where_there_is_no_mix_and_bad_salts_refused() -> None:
    with pytest.raises(ContractError, match="contract lookup-table cannot be salted"):
        _TableContract().salted(7)
    contract = load_contract("qwen3.8-ple")
    for bad in (-1, 2**63, 1.5, True):
        with pytest.raises(ContractError, match="salt must be an integer from 0 to 2\\^63-1"):
            contract.salted(bad)  # type: ignore[arg-type]
    with pytest.raises(ContractError, match="per-sequence salts"):
        contract.salted(np.array([[-3]]))


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=5, table_size_per_head=4001)


def _write(lm: Any, user: str, salted: bool) -> UserMemory:
    writer = FactWriter(lm.model, lm.tokenizer, FAST)
    spec = [FactSpec.of("My dog is", "Rex")]
    if not salted:
        return UserMemory(user, writer.write(UserMemory(user), spec, strategy="unembed").facts)
    with lm.model.address_salt(user_salt(user)):
        return UserMemory(user, writer.write(UserMemory(user), spec, strategy="unembed").facts)


def _rows(memory: UserMemory) -> set[tuple[int, int]]:
    return {tuple(r) for f in memory.facts for r in f.row_ids.tolist()}


def test_salting_removes_content_sharing_between_two_users_with_the_same_trigger(lm: Any) -> None:
    plain_a, plain_b = _write(lm, "alice", False), _write(lm, "bob", False)
    assert _rows(plain_a) == _rows(plain_b)  # the same trigger: the same rows, the content is shared
    salted_a, salted_b = _write(lm, "alice", True), _write(lm, "bob", True)
    assert _rows(salted_a) and _rows(salted_b)
    assert not _rows(salted_a) & _rows(salted_b)  # salted: disjoint rows
    assert not _rows(salted_a) & _rows(plain_a)

    model = lm.model
    tokens = torch.tensor([lm.tokenizer.encode("My dog is")])
    alice = MemoryOverlay([salted_a])
    base = raw_bytes(model(tokens))
    with model.address_salt(SALT_ALICE):
        read = model(tokens, overlay=alice)  # alice reads her own salted rows
    assert raw_bytes(read) != raw_bytes(model(tokens, overlay=alice))
    assert raw_bytes(model(tokens, overlay=alice)) == raw_bytes(model(tokens, overlay=None)) == base
    with model.address_salt(SALT_BOB):  # bob asks the same question at his salt: none of alice's rows is read
        assert raw_bytes(model(tokens, overlay=alice)) == raw_bytes(model(tokens))
    explicit = model(tokens, overlay=alice, addresses=model.engram_addresses(tokens, salt=SALT_ALICE))
    assert raw_bytes(explicit) == raw_bytes(read)


def test_address_salt_leaves_unsalted_reads_and_other_threads_alone(lm: Any) -> None:
    model = lm.model
    tokens = torch.tensor([lm.tokenizer.encode("My dog is Rex")])
    contract, digest = model.hasher, model.hasher.address_digest()
    plain = {k: v.clone() for k, v in model.engram_addresses(tokens).items()}
    seen: dict[str, Any] = {}
    with model.address_salt(SALT_ALICE) as view:
        assert model.hasher is view and view.address_digest() != digest
        worker = threading.Thread(target=lambda: seen.update(other=model.hasher))
        worker.start()
        worker.join()
        salted = model.engram_addresses(tokens)
        assert all(not torch.equal(salted[k], plain[k]) for k in plain)
        with model.address_salt(0):
            assert model.hasher is contract
        assert model.hasher is view
    assert seen["other"] is contract and model.hasher is contract and contract.address_digest() == digest
    assert all(torch.equal(model.engram_addresses(tokens, salt=0)[k], plain[k]) for k in plain)
