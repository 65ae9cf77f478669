"""Synthetic users with personal facts, in the reference per-user JSON schema.

Every user is a dict ``{uid, attrs, facts, direct_qa, indirect_qa}``:

- ``attrs``: the raw persona attributes (``None`` where one does not apply, e.g. no child);
- ``facts``: atomic facts ``{key, answer, paraphrases}``; the first paraphrase of every fact is a
  first-person sentence that ends with the answer text followed by ``"."``;
- ``direct_qa``: one question per fact, with the answer as a string;
- ``indirect_qa``: questions that need some reasoning over one or more facts (ages in 2026,
  comparisons, days of the week, commute arithmetic, allergies, ...), with correct answers.

All values come from the pools in :mod:`.vocab`, which were written for this project (the
corpus generator reuses them). Generation is fully deterministic: a user depends only on its
``uid`` and ``seed`` (string seeding of :class:`random.Random` is stable across processes).
"""

from __future__ import annotations

from engram_probe.data.synthetic_users.attributes import _make_attrs as _make_attrs
from engram_probe.data.synthetic_users.facts import _fact_answers as _fact_answers
from engram_probe.data.synthetic_users.facts import _make_facts as _make_facts
from engram_probe.data.synthetic_users.facts import _paraphrase_options as _paraphrase_options
from engram_probe.data.synthetic_users.facts import fact_prompt
from engram_probe.data.synthetic_users.generate import generate_user, generate_users
from engram_probe.data.synthetic_users.io import _load_file as _load_file
from engram_probe.data.synthetic_users.io import _validate_user as _validate_user
from engram_probe.data.synthetic_users.io import load_users
from engram_probe.data.synthetic_users.questions import DIRECT_QUESTIONS
from engram_probe.data.synthetic_users.questions import _delta as _delta
from engram_probe.data.synthetic_users.questions import _make_direct_qa as _make_direct_qa
from engram_probe.data.synthetic_users.questions import _make_indirect_qa as _make_indirect_qa
from engram_probe.data.synthetic_users.questions import _older_of as _older_of
from engram_probe.data.synthetic_users.schema import ATTR_KEYS, FACT_KEYS, INDIRECT_SCHEMAS, USER_KEYS
from engram_probe.data.synthetic_users.text import _A_NOT_AN_PREFIXES as _A_NOT_AN_PREFIXES
from engram_probe.data.synthetic_users.text import _cap as _cap
from engram_probe.data.synthetic_users.text import _hhmm_to_min as _hhmm_to_min
from engram_probe.data.synthetic_users.text import _join_and as _join_and
from engram_probe.data.synthetic_users.text import _min_to_hhmm as _min_to_hhmm
from engram_probe.data.synthetic_users.text import answer_text, with_article
from engram_probe.data.synthetic_users.vocab import (
    ACTIVITIES,
    ALLERGENS,
    ALLERGY_NAMES,
    CAR_MODELS,
    CITIES,
    COFFEE_ORDERS,
    COLORS,
    CUISINES,
    CURRENT_YEAR,
    DISHES,
    EMPLOYERS,
    FIRST_NAMES,
    HOBBIES,
    JOBS,
    PET_NAMES,
    PET_SPECIES,
    PHONE_MODELS,
    SURNAMES,
    WEEKDAYS,
    WORK_START_TIMES,
    WORKDAY_PATTERNS,
)

__all__ = [
    "ACTIVITIES",
    "ALLERGENS",
    "ALLERGY_NAMES",
    "ATTR_KEYS",
    "CAR_MODELS",
    "CITIES",
    "COFFEE_ORDERS",
    "COLORS",
    "CUISINES",
    "CURRENT_YEAR",
    "DIRECT_QUESTIONS",
    "DISHES",
    "EMPLOYERS",
    "FACT_KEYS",
    "FIRST_NAMES",
    "HOBBIES",
    "INDIRECT_SCHEMAS",
    "JOBS",
    "PET_NAMES",
    "PET_SPECIES",
    "PHONE_MODELS",
    "SURNAMES",
    "USER_KEYS",
    "WEEKDAYS",
    "WORKDAY_PATTERNS",
    "WORK_START_TIMES",
    "answer_text",
    "fact_prompt",
    "generate_user",
    "generate_users",
    "load_users",
    "with_article",
]
