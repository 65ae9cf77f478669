"""Synthetic users and the generated training corpus: schema, determinism, correctness, variety."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engram_probe.data import corpus
from engram_probe.data import synthetic_users as su

REPO_ROOT = Path(__file__).resolve().parents[2]

EXPECTED_USER_KEYS = ["uid", "attrs", "facts", "direct_qa", "indirect_qa"]
EXPECTED_ATTR_KEYS = [
    "uid", "first_name", "last_name", "full_name", "birth_year", "city", "timezone", "job", "employer",
    "workdays", "work_start", "commute_min", "pet_species", "pet_name", "car_desc", "car_year", "hobby1",
    "hobby2", "cuisine", "allergy", "spouse_name", "spouse_year", "child_name", "child_year", "sibling_name",
    "sibling_year", "activity", "activity_days", "rent", "emergency_contact", "ec_phone_last", "phone_model",
    "doctor", "dentist", "coffee", "running_pace", "shoe_size", "color",
]  # fmt: skip
EXPECTED_FACT_KEYS = [
    "name", "birth_year", "city", "timezone", "job", "employer", "workdays", "work_start", "commute_min", "pet",
    "car", "car_year", "hobby1", "hobby2", "cuisine", "allergy", "spouse_name", "spouse_year", "child_name",
    "child_year", "sibling_name", "sibling_year", "activity", "activity_days", "rent", "emergency_contact",
    "ec_phone_last", "phone_model", "doctor", "dentist", "coffee", "running_pace", "shoe_size", "color",
]  # fmt: skip
EXPECTED_SCHEMAS = {"AGE", "COMPARE", "DAY_SET", "ROUTINE", "ALLERGY", "COMMUTE", "POLICY", "MULTI"}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@pytest.fixture(scope="module")
def users() -> list[dict]:
    return su.generate_users(150, seed=11)


@pytest.fixture(scope="module")
def docs() -> list[str]:
    return corpus.generate_corpus(2000, seed=0)


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _hhmm(minutes: int) -> str:
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ------------------------------------------------------------------------------------------- users


def test_user_schema_matches_reference(users: list[dict]) -> None:
    for u in users:
        assert list(u) == EXPECTED_USER_KEYS
        assert list(u["attrs"]) == EXPECTED_ATTR_KEYS
        assert u["attrs"]["uid"] == u["uid"]
        keys = [f["key"] for f in u["facts"]]
        assert keys == [k for k in EXPECTED_FACT_KEYS if k in keys]
        assert set(EXPECTED_FACT_KEYS) - set(keys) <= {"child_name", "child_year"}
        assert [q["key"] for q in u["direct_qa"]] == keys
        for f in u["facts"]:
            assert set(f) == {"key", "answer", "paraphrases"}
            assert isinstance(f["answer"], str | int | list)
            assert 2 <= len(f["paraphrases"]) <= 3
            assert all(isinstance(p, str) and p for p in f["paraphrases"])
        for q in u["direct_qa"]:
            assert set(q) == {"key", "question", "answer"}
            assert isinstance(q["answer"], str) and q["answer"] and q["question"].endswith("?")
        for q in u["indirect_qa"]:
            assert set(q) == {"schema", "variant", "question", "answer", "required_fact_keys"}
            assert q["schema"] in EXPECTED_SCHEMAS
            assert isinstance(q["answer"], str) and q["answer"]
            assert set(q["required_fact_keys"]) <= set(keys)
        assert {q["schema"] for q in u["indirect_qa"]} == EXPECTED_SCHEMAS


def test_attr_value_formats(users: list[dict]) -> None:
    for u in users:
        a = u["attrs"]
        assert a["full_name"] == f"{a['first_name']} {a['last_name']}"
        assert re.fullmatch(r"\d\d:\d\d", a["work_start"])
        assert re.fullmatch(r"\d{4}", a["ec_phone_last"])
        assert a["doctor"].startswith("Dr. ") and a["dentist"].startswith("Dr. ")
        assert a["workdays"] and all(d in DAYS for d in a["workdays"])
        assert a["activity_days"] == [d for d in DAYS if d in a["activity_days"]]
        assert a["car_desc"].startswith(str(a["car_year"]))
        assert (a["child_name"] is None) == (a["child_year"] is None)
        people = [a["first_name"], a["spouse_name"], a["sibling_name"], a["emergency_contact"], a["child_name"]]
        people = [p for p in people if p]
        assert len(people) == len(set(people)), "family members must have distinct first names"
    with_child = [u for u in users if u["attrs"]["child_name"]]
    without = [u for u in users if not u["attrs"]["child_name"]]
    assert with_child and without
    for u in without:
        assert "child_name" not in [f["key"] for f in u["facts"]]
        assert ("AGE", "child") not in {(q["schema"], q["variant"]) for q in u["indirect_qa"]}


def test_value_pools_are_large_and_unique() -> None:
    for pool, minimum in [
        (su.FIRST_NAMES, 150), (su.SURNAMES, 150), (su.CITIES, 60), (su.JOBS, 30), (su.EMPLOYERS, 30),
        (su.PET_NAMES, 40), (su.HOBBIES, 30), (su.CUISINES, 20), (su.COLORS, 25), (su.COFFEE_ORDERS, 15),
        (su.PHONE_MODELS, 15), (su.CAR_MODELS, 30),
    ]:  # fmt: skip
        assert len(pool) >= minimum
        assert len(set(pool)) == len(pool)
    assert any(not n.isascii() for n in su.FIRST_NAMES), "some accented names are expected"


def test_users_deterministic_in_process() -> None:
    assert su.generate_users(12, seed=3) == su.generate_users(12, seed=3)
    assert su.generate_user("s005", 3) == su.generate_users(6, seed=3)[5]


def test_users_and_corpus_deterministic_across_processes() -> None:
    code = (
        "import hashlib, json\n"
        "from engram_probe.data import corpus, synthetic_users as su\n"
        "obj = [su.generate_users(8, seed=7), corpus.generate_corpus(150, seed=7)]\n"
        "print(hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode('utf-8')).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONHASHSEED": "12345"}
    cmd = [sys.executable, "-c", code]
    out = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == _digest([su.generate_users(8, seed=7), corpus.generate_corpus(150, seed=7)])


def test_different_seeds_differ() -> None:
    a, b = su.generate_users(10, seed=0), su.generate_users(10, seed=1)
    assert a != b
    assert sum(x["attrs"]["full_name"] != y["attrs"]["full_name"] for x, y in zip(a, b, strict=True)) >= 7
    assert corpus.generate_corpus(50, seed=0) != corpus.generate_corpus(50, seed=1)


def test_uid_prefixes() -> None:
    assert [u["uid"] for u in su.generate_users(3, seed=0, prefix="d")] == ["d000", "d001", "d002"]
    assert [u["uid"] for u in su.generate_users(2)] == ["s000", "s001"]
    assert su.generate_users(0) == []


def test_indirect_answers_are_correct(users: list[dict]) -> None:
    dishes = dict(su.DISHES)
    for u in users:
        a = u["attrs"]
        by, sy, siby = a["birth_year"], a["spouse_year"], a["sibling_year"]
        start = int(a["work_start"][:2]) * 60 + int(a["work_start"][3:])
        c = a["commute_min"]
        for q in u["indirect_qa"]:
            kind, ans = (q["schema"], q["variant"]), q["answer"]
            if kind == ("AGE", "self"):
                assert ans == str(2026 - by)
            elif kind == ("AGE", "spouse"):
                assert ans == str(2026 - sy)
            elif kind == ("AGE", "sibling"):
                assert ans == str(2026 - siby)
            elif kind == ("AGE", "child"):
                assert ans == str(2026 - a["child_year"])
            elif kind == ("AGE", "car"):
                assert ans == str(2026 - a["car_year"])
            elif kind == ("COMPARE", "me_vs_spouse"):
                assert ans == ("me" if by < sy else "same age" if by == sy else f"{a['spouse_name']} (my spouse)")
            elif kind == ("COMPARE", "oldest_of_three"):
                first = min(by, sy, siby)
                expected = "me" if by == first else "(my spouse)" if sy == first else "(my sibling)"
                assert ans.endswith(expected)
            elif kind == ("DAY_SET", "work_sat"):
                assert ans == ("Yes" if "Saturday" in a["workdays"] else "No")
            elif kind == ("DAY_SET", "work_sun"):
                assert ans == ("Yes" if "Sunday" in a["workdays"] else "No")
            elif q["schema"] == "DAY_SET":
                day = next(d for d in DAYS if d in q["question"])
                assert ans == ("Yes" if day in a["activity_days"] else "No")
            elif kind == ("ROUTINE", "count_days"):
                assert ans == str(len(a["activity_days"]))
            elif kind == ("ROUTINE", "days_of_activity"):
                assert ans == ", ".join(a["activity_days"])
            elif q["schema"] == "ALLERGY":
                dish = next(d for d in dishes if f" {d} " in q["question"] or f" {d}?" in q["question"])
                assert ans == ("No" if a["allergy"] in dishes[dish] else "Yes")
            elif kind == ("COMMUTE", "leave_time"):
                assert ans == _hhmm(start - c)
            elif kind == ("COMMUTE", "arrive_if_leave_at_start"):
                assert ans == _hhmm(start + c)
            elif kind == ("COMMUTE", "round_trip"):
                assert ans == str(2 * c)
            elif kind == ("COMMUTE", "weekly_minutes"):
                assert ans == str(2 * c * len(a["workdays"]))
            elif kind == ("POLICY", "doctor"):
                assert ans == a["doctor"]
            elif kind == ("MULTI", "sibling_delta"):
                diff = abs(by - siby)
                direction = "older" if siby < by else "younger"
                assert ans == ("the same age as me" if diff == 0 else f"{diff} year(s) {direction} than me")
            elif kind == ("MULTI", "future_age"):
                years = int(re.search(r"be (\d+) years", q["question"]).group(1))
                assert ans == str(2026 - by + years)


def test_fact_prompt_cuts_every_generated_fact(users: list[dict]) -> None:
    for u in users:
        for f in u["facts"]:
            prompt, answer = su.fact_prompt(f)
            assert answer == su.answer_text(f["answer"])
            assert prompt and answer
            assert answer not in prompt
            assert f["paraphrases"][0] == f"{prompt} {answer}." or f["paraphrases"][0] == f"{prompt}{answer}."
            assert any(p.endswith(answer + ".") for p in f["paraphrases"])


def test_fact_prompt_rules() -> None:
    name = {"key": "name", "answer": "Ana Kowalczyk", "paraphrases": ["My name is Ana Kowalczyk.", "I am Ana."]}
    assert su.fact_prompt(name) == ("My name is", "Ana Kowalczyk")
    days = {"key": "workdays", "answer": ["Monday", "Friday"], "paraphrases": ["Workdays: Monday, Friday."]}
    assert su.fact_prompt(days) == ("Workdays:", "Monday, Friday")
    rent = {"key": "rent", "answer": 1450, "paraphrases": ["I pay $1450 a month.", "My rent is $1450."]}
    assert su.fact_prompt(rent) == ("My rent is $", "1450")
    middle = {"key": "cuisine", "answer": "Greek", "paraphrases": ["Meals: often Greek food."]}
    assert su.fact_prompt(middle) == ("Meals: often", "Greek")
    missing = {"key": "favorite_tea", "answer": "oolong", "paraphrases": ["I drink tea."]}
    assert su.fact_prompt(missing) == ("My favorite tea is", "oolong")
    doctor = {"key": "doctor", "answer": "Dr. Núñez", "paraphrases": ["My doctor is Dr. Núñez."]}
    assert su.fact_prompt(doctor) == ("My doctor is", "Dr. Núñez")


def test_load_users_roundtrip_and_errors(tmp_path: Path) -> None:
    gen = su.generate_users(3, seed=2)
    folder = tmp_path / "users"
    folder.mkdir()
    for u in reversed(gen):
        (folder / f"{u['uid']}.json").write_text(json.dumps(u, ensure_ascii=False), encoding="utf-8")
    assert su.load_users(str(folder)) == gen
    single = tmp_path / "one.json"
    single.write_text(json.dumps(gen[1]), encoding="utf-8")
    assert su.load_users(str(single)) == [gen[1]]
    many = tmp_path / "many.json"
    many.write_text(json.dumps(gen), encoding="utf-8")
    assert su.load_users(str(many)) == gen

    with pytest.raises(ValueError, match="does not exist"):
        su.load_users(str(tmp_path / "nope"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="malformed JSON"):
        su.load_users(str(bad))
    no_facts = tmp_path / "nofacts.json"
    no_facts.write_text(json.dumps({"uid": "x"}), encoding="utf-8")
    with pytest.raises(ValueError, match="facts"):
        su.load_users(str(no_facts))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no"):
        su.load_users(str(empty))


# ------------------------------------------------------------------------------------------ corpus


def test_corpus_size_and_shape(docs: list[str]) -> None:
    assert len(docs) == 2000
    assert all(isinstance(d, str) and d.strip() for d in docs)
    lengths = sorted(len(d) for d in docs)
    assert 250_000 < sum(lengths) < 1_000_000
    assert 100 <= lengths[len(lengths) // 2] <= 600
    assert sum(100 <= n <= 800 for n in lengths) / len(lengths) > 0.85
    assert any(not d.isascii() for d in docs), "accented names should appear"
    assert any("\nA: " in d for d in docs) and any(d.startswith("Q: ") for d in docs)


def test_corpus_variety(docs: list[str]) -> None:
    sentences = [s.strip() for d in docs for s in re.split(r"(?<=[.!?])\s+|\n", d) if s.strip()]
    assert len(set(sentences)) > 0.5 * len(sentences)
    words = {w.lower() for d in docs for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", d)}
    assert len(words) > 800
    assert len(set(docs)) > 0.98 * len(docs)
    assert sum("?" in d for d in docs) > 100


def test_corpus_category_mix() -> None:
    labeled = corpus.generate_corpus_labeled(3000, seed=4)
    chars: dict[str, int] = {}
    for cat, text in labeled:
        chars[cat] = chars.get(cat, 0) + len(text)
    total = sum(chars.values())
    for cat, share in corpus.TARGET_CHAR_SHARES.items():
        assert abs(chars[cat] / total - share) < 0.06, (cat, chars[cat] / total)
    assert [t for _, t in labeled] == corpus.generate_corpus(3000, seed=4)


def test_corpus_users_use_c_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = su.generate_user

    def spy(uid: str, seed: int) -> dict:
        seen.append(uid)
        return real(uid, seed)

    monkeypatch.setattr(su, "generate_user", spy)
    corpus.generate_corpus(400, seed=1)
    assert seen and all(re.fullmatch(r"c\d{4,}", uid) for uid in seen)


def test_corpus_deterministic() -> None:
    assert corpus.generate_corpus(300, seed=5) == corpus.generate_corpus(300, seed=5)


def test_split_corpus_sizes_and_disjointness(docs: list[str]) -> None:
    train, held = corpus.split_corpus(docs, heldout_fraction=0.05, seed=0)
    assert len(train) + len(held) == len(docs)
    assert len(held) >= round(0.05 * len(docs))
    assert len(held) <= round(0.05 * len(docs)) + 5
    assert not set(train) & set(held)
    assert corpus.split_corpus(docs, 0.05, seed=0) == (train, held)
    assert corpus.split_corpus(docs, 0.05, seed=1)[1] != held
    # order within each part is preserved
    pos = {d: i for i, d in enumerate(docs)}
    assert [pos[d] for d in held] == sorted(pos[d] for d in held)


def test_split_corpus_exact_and_duplicates() -> None:
    unique = [f"document number {i}" for i in range(1000)]
    train, held = corpus.split_corpus(unique, heldout_fraction=0.02, seed=3)
    assert len(held) == 20 and len(train) == 980
    dupes = ["same text"] * 50 + unique[:50]
    train, held = corpus.split_corpus(dupes, heldout_fraction=0.1, seed=0)
    assert not set(train) & set(held)
    assert len(train) + len(held) == 100
    assert corpus.split_corpus(unique, heldout_fraction=0.0) == (unique, [])
    with pytest.raises(ValueError):
        corpus.split_corpus(unique, heldout_fraction=1.5)


def test_describe_corpus_mentions_sources() -> None:
    text = corpus.describe_corpus()
    for needle in ("General English", "Personal facts", "Organisation facts", "Notes", "c0000", "~40%"):
        assert needle in text
    assert str(len(su.FIRST_NAMES)) in text
