"""Procedurally generated language-model training corpus (no downloads, no external text).

The corpus is a list of short documents built from four generators:

- **general English** from a small procedural grammar written for this project: narratives,
  descriptions of places, weather reports, animal facts, recipes and how-to steps, work scenes,
  travel, dialogues, lists, arithmetic with numbers, dates, times and prices, letters and
  question/answer pairs about a small, self-consistent world;
- **personal facts** of synthetic users from :mod:`engram_probe.data.synthetic_users` (uids
  ``c0000``, ``c0001``, ... so they never clash with test/demo users): shuffled fact paraphrases,
  third- and first-person bios, profile cards and ``Q:``/``A:`` blocks;
- **organisation facts** about made-up companies (parent company, mascot, headquarters, fiscal
  year, CEO, office hours, support extension and e-mail, flagship product, all-hands day, ...);
- **notes**: diary entries, reminders, chat turns and text messages about the corpus users'
  pets, doctors, appointments and families.

Everything is deterministic for a seed: one :class:`random.Random` drives the whole corpus.

Layout: :mod:`.vocab` (word pools), :mod:`.text` (shared helpers), :mod:`.stories`, :mod:`.howto` and
:mod:`.conversation` (general English), :mod:`.personal` (personal facts and notes) and :mod:`.orgs`
(organisations); this module mixes them into a corpus.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from typing import Any

from engram_probe.data import synthetic_users as su
from engram_probe.data.corpus.conversation import (
    gen_dialogue,
    gen_letter,
    gen_list,
    gen_numbers,
    gen_world_qa,
)
from engram_probe.data.corpus.howto import (
    gen_howto,
    gen_travel,
    gen_work,
)
from engram_probe.data.corpus.orgs import (
    ORDINALS,
    ORG_NAMES,
    ORG_STEMS,
    ORG_SUFFIXES,
    PRODUCT_KINDS,
    PRODUCT_NAMES,
    SUPPORT_PREFIXES,
    build_orgs,
    org_doc,
)
from engram_probe.data.corpus.personal import (
    CARD_LABELS,
    PERSONAL_GENERATORS,
    THIRD_PERSON_QUESTIONS,
    note_doc,
)
from engram_probe.data.corpus.stories import (
    gen_animals,
    gen_place,
    gen_story,
    gen_weather,
)
from engram_probe.data.corpus.vocab import (
    ADVERBS,
    ANIMAL_SOUNDS,
    ANIMALS,
    DIRECTIONS,
    FEELINGS,
    FOODS,
    FRUIT_COLORS,
    INTRANSITIVE_VERBS,
    MONTH_DAYS,
    MONTHS,
    NAMES,
    NUM_WORDS,
    OBJECT_VERBS,
    OBJECTS,
    OPPOSITES,
    PLACE_ADJS,
    PLACE_FEATURES,
    PLACES,
    PRONOUNS,
    RECIPES,
    SEASONS,
    SMELLS,
    STORY_ANIMALS,
    STREETS,
    SURFACES,
    TASKS,
    TOPICS,
    TRANSPORT,
    WEATHER_CONDITIONS,
    WORK_OBJECTS,
    WORK_ROOMS,
)

__all__ = [
    "ADVERBS",
    "ANIMALS",
    "ANIMAL_SOUNDS",
    "CARD_LABELS",
    "CATEGORY_WEIGHTS",
    "CORPUS_USER_PREFIX",
    "DIRECTIONS",
    "FEELINGS",
    "FOODS",
    "FRUIT_COLORS",
    "GENERAL_GENERATORS",
    "INTRANSITIVE_VERBS",
    "MONTHS",
    "MONTH_DAYS",
    "NAMES",
    "NUM_WORDS",
    "OBJECTS",
    "OBJECT_VERBS",
    "OPPOSITES",
    "ORDINALS",
    "ORG_NAMES",
    "ORG_STEMS",
    "ORG_SUFFIXES",
    "PERSONAL_GENERATORS",
    "PLACES",
    "PLACE_ADJS",
    "PLACE_FEATURES",
    "PRODUCT_KINDS",
    "PRODUCT_NAMES",
    "PRONOUNS",
    "RECIPES",
    "SEASONS",
    "SMELLS",
    "STORY_ANIMALS",
    "STREETS",
    "SUPPORT_PREFIXES",
    "SURFACES",
    "TARGET_CHAR_SHARES",
    "TASKS",
    "THIRD_PERSON_QUESTIONS",
    "TOPICS",
    "TRANSPORT",
    "WEATHER_CONDITIONS",
    "WORK_OBJECTS",
    "WORK_ROOMS",
    "build_orgs",
    "corpus_user_count",
    "describe_corpus",
    "generate_corpus",
    "generate_corpus_labeled",
    "split_corpus",
]

GENERAL_GENERATORS: tuple[tuple[Callable[[random.Random], str], float], ...] = (
    (gen_story, 4.0),
    (gen_place, 2.0),
    (gen_weather, 1.5),
    (gen_animals, 2.0),
    (gen_howto, 1.5),
    (gen_work, 1.5),
    (gen_travel, 1.2),
    (gen_dialogue, 2.0),
    (gen_list, 1.0),
    (gen_numbers, 2.5),
    (gen_world_qa, 1.5),
    (gen_letter, 1.0),
)

# Document-count weights, tuned so that the character shares come out near
# 40% general / 35% personal / 15% organisations / 10% notes.
CATEGORY_WEIGHTS: dict[str, float] = {"general": 0.39, "personal": 0.35, "org": 0.15, "notes": 0.11}
TARGET_CHAR_SHARES: dict[str, float] = {"general": 0.40, "personal": 0.35, "org": 0.15, "notes": 0.10}
CORPUS_USER_PREFIX = "c"


def corpus_user_count(n_docs: int) -> int:
    """How many distinct corpus users (``c0000``...) a corpus of ``n_docs`` documents draws on."""
    return max(20, n_docs // 8)


class _UserPool:
    """Lazily generated corpus users ``c0000``, ``c0001``, ... (cached)."""

    def __init__(self, n_users: int, seed: int) -> None:
        self.n_users = n_users
        self.seed = seed
        self._cache: dict[int, dict[str, Any]] = {}

    def pick(self, r: random.Random) -> dict[str, Any]:
        i = r.randrange(self.n_users)
        user = self._cache.get(i)
        if user is None:
            user = su.generate_user(f"{CORPUS_USER_PREFIX}{i:04d}", self.seed)
            self._cache[i] = user
        return user


def _pick_weighted(r: random.Random, items: Sequence[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in items)
    x = r.random() * total
    for item, w in items:
        x -= w
        if x < 0:
            return item
    return items[-1][0]


def generate_corpus_labeled(n_docs: int, seed: int = 0) -> list[tuple[str, str]]:
    """Like :func:`generate_corpus` but returns ``(category, text)`` pairs."""
    if n_docs < 0:
        raise ValueError(f"n_docs must be >= 0, got {n_docs}")
    r = random.Random(f"engram-corpus|{seed}")
    users = _UserPool(corpus_user_count(n_docs), seed)
    orgs = build_orgs(seed)
    categories = list(CATEGORY_WEIGHTS.items())
    out: list[tuple[str, str]] = []
    for _ in range(n_docs):
        cat = _pick_weighted(r, categories)
        if cat == "general":
            text = _pick_weighted(r, GENERAL_GENERATORS)(r)
        elif cat == "personal":
            text = _pick_weighted(r, PERSONAL_GENERATORS)(r, users.pick(r))
        elif cat == "org":
            text = org_doc(r, orgs)
        else:
            text = note_doc(r, users.pick(r))
        out.append((cat, text.replace("a.m..", "a.m.").replace("p.m..", "p.m.")))
    return out


def generate_corpus(n_docs: int, seed: int = 0) -> list[str]:
    """Generate ``n_docs`` training documents (deterministic for ``seed``)."""
    return [text for _, text in generate_corpus_labeled(n_docs, seed)]


def split_corpus(docs: Sequence[str], heldout_fraction: float = 0.02, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split documents into ``(train, heldout)`` deterministically.

    Distinct texts are ranked by a seeded hash and taken into the held-out part until it holds
    ``round(len(docs) * heldout_fraction)`` documents; every copy of a held-out text goes there
    too, so no text appears in both parts. Each part keeps the original document order.
    """
    if not 0.0 <= heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
    target = round(len(docs) * heldout_fraction)
    if target == 0:
        return list(docs), []
    counts: dict[str, int] = {}
    for d in docs:
        counts[d] = counts.get(d, 0) + 1
    salt = f"{seed}\x00".encode()

    def rank(text: str) -> bytes:
        return hashlib.blake2b(salt + text.encode("utf-8"), digest_size=8).digest()

    heldout_texts: set[str] = set()
    taken = 0
    for text in sorted(counts, key=rank):
        if taken >= target:
            break
        heldout_texts.add(text)
        taken += counts[text]
    train = [d for d in docs if d not in heldout_texts]
    heldout = [d for d in docs if d in heldout_texts]
    return train, heldout


def describe_corpus() -> str:
    """Markdown description of where the corpus text comes from (for the model card)."""
    n_general_words = len(
        set(PLACES)
        | set(PLACE_ADJS)
        | set(OBJECTS)
        | set(FOODS)
        | set(FEELINGS)
        | set(ADVERBS)
        | {v[0] for v in OBJECT_VERBS}
        | {v[0] for v in INTRANSITIVE_VERBS}
        | {a[0] for a in ANIMALS}
        | set(WEATHER_CONDITIONS)
        | set(SMELLS)
        | set(WORK_OBJECTS)
    )
    shares = ", ".join(f"{k} ~{int(v * 100)}%" for k, v in TARGET_CHAR_SHARES.items())
    return f"""\
### Training corpus

The training text is generated entirely by this project (the packages `engram_probe/data/corpus/` and
`engram_probe/data/synthetic_users/`); nothing is downloaded and no external text or data set is
used. Every person, company and value in it is made up. Generation is deterministic for a seed
(`generate_corpus(n_docs, seed)`), and each document is a short passage of usually 3-14 sentences or
lines (typically 100-600 characters). Approximate shares by characters: {shares}.

**General English (~40%).** A procedural grammar written for this project produces short
narratives, descriptions of places, weather reports, animal facts from a small self-consistent
table ({len(ANIMALS)} animals with habitat, diet, a trait and a size rank, so comparisons are
true), recipes ({len(RECIPES)} dishes) and how-to steps ({len(TASKS)} tasks), work scenes, travel
timetables, dialogues, shopping/packing/to-do lists and receipts, arithmetic with numbers, times,
dates and prices (always computed correctly), letters and question/answer pairs (colors of
fruits, opposites, seasons). Its hand-written pools hold about {n_general_words} content words plus
names, cities, jobs and companies shared with the user generator.

**Personal facts (~35%).** Synthetic users from `generate_user` with uids `c0000`, `c0001`, ...
(test and demo users use other prefixes, e.g. `s` and `d`, so uids never clash; names and values
come from the same pools, so a corpus user can share a name with a test user but has its own
facts). Documents are shuffled fact paraphrases (first and third person), short bios, profile
cards, and `Q:`/`A:` blocks from the users' direct and indirect questions, sometimes preceded by
the facts needed to answer them. Pools: {len(su.FIRST_NAMES)} first names and {len(su.SURNAMES)}
surnames from many cultures (a few with accents, e.g. "José", "Zoë", "Søren", so Unicode
normalisation matters), {len(su.CITIES)} cities with timezones, {len(su.JOBS)} jobs,
{len(su.EMPLOYERS)} made-up employers, {len(su.PET_SPECIES)} pet species and {len(su.PET_NAMES)}
pet names, {len(su.CAR_MODELS)} car models, {len(su.HOBBIES)} hobbies, {len(su.CUISINES)} cuisines,
{len(su.ALLERGENS)} allergens with {len(su.DISHES)} dishes, {len(su.ACTIVITIES)} weekly activities,
{len(su.COFFEE_ORDERS)} coffee orders, {len(su.COLORS)} colours and {len(su.PHONE_MODELS)} phone models.

**Organisation facts (~15%).** {len(ORG_NAMES)} made-up companies (e.g. "{ORG_NAMES[0]}"), each with
a parent company, mascot animal, headquarters city, fiscal-year start month, CEO and CEO emeritus,
office hours, IT support extension, support e-mail, flagship product, monthly all-hands day,
founding year and head count, stated in varied sentences, Q/A pairs, press-release snippets and
welcome notes.

**Notes (~10%).** Diary entries, reminder lists, user/assistant chat turns and text messages
that mention the corpus users' pets, doctors, dentists, appointments, families and routines,
consistent with those users' facts.
"""
