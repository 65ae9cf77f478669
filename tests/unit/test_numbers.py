"""The one formatter of numbers for people: digits, percentages, separators, units, plurals, plain names."""

from __future__ import annotations

from engram_probe.layered.settings import QKV_TARGETS
from engram_probe.report import numbers as n


def test_significant_digits_and_separators() -> None:
    assert n.sig(0.16666666666666666) == "0.1667"
    assert n.sig(393216) == "393,216"
    assert n.sig(1234.5678) == "1,235"
    assert n.sig(0.00114791) == "0.001148"
    assert n.sig(1e-9) == "1e-9" and n.sig(0) == "0" and n.sig(None) == "—"
    assert n.signed(0.01856) == "+0.01856" and n.signed(-0.002) == "−0.002"


def test_fractions_are_percentages_and_unequal_values_never_read_the_same() -> None:
    assert n.pct(1 / 6) == "16.7%" and n.pct(0) == "0%" and n.pct(1) == "100%"
    a, b = n.pct_pair(5 / 6, 0.8333)
    assert a != b and a.endswith("%")
    assert n.pct_pair(0.5, 0.5) == ("50%", "50%")


def test_units_and_plurals() -> None:
    assert n.size(512) == "512 B" and n.size(393216) == "384 KiB" and n.size(1.5 * 2**20) == "1.5 MiB"
    assert n.size_exact(393216) == "384 KiB (393,216 B)"
    assert n.duration(0.85) == "850 ms" and n.duration(3.21) == "3.21 s" and n.duration(125) == "2 min 5 s"
    assert n.plural(1, "write site") == "1 write site" and n.plural(2, "write site") == "2 write sites"
    assert n.plural(3, "entry") == "3 entries" and n.tokens(4096) == "4,096 tokens"


def test_code_names_become_words() -> None:
    assert n.legend("recall_top1") == "recall (top-1)" and "_" not in n.legend("some_new_field")
    assert n.targets_in_words(QKV_TARGETS) == "the attention query, key and value weights of every block"
