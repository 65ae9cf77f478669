"""Address contracts: how a model's token ids become rows of its Engram tables, without weights."""

from engram_probe.contracts.base import AddressContract, Check, Column, ContractError, RowFormat
from engram_probe.contracts.registry import CONTRACT_NAMES, load_contract

__all__ = ["CONTRACT_NAMES", "AddressContract", "Check", "Column", "ContractError", "RowFormat", "load_contract"]
