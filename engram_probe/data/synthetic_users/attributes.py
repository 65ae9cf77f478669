"""Drawing the raw attributes of one persona from the value pools."""

from __future__ import annotations

import random
from typing import Any

from engram_probe.data.synthetic_users.vocab import (
    ACTIVITIES,
    ALLERGY_NAMES,
    CAR_MODELS,
    CITIES,
    COFFEE_ORDERS,
    COLORS,
    CUISINES,
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


def _make_attrs(uid: str, rng: random.Random) -> dict[str, Any]:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(SURNAMES)
    used_first = {first}

    def other_first_name() -> str:
        while True:
            name = rng.choice(FIRST_NAMES)
            if name not in used_first:
                used_first.add(name)
                return name

    birth_year = rng.randint(1958, 2004)
    city, timezone = rng.choice(CITIES)
    patterns = [p for p, _ in WORKDAY_PATTERNS]
    weights = [w for _, w in WORKDAY_PATTERNS]
    workdays = list(rng.choices(patterns, weights=weights, k=1)[0])
    make, model = rng.choice(CAR_MODELS)
    car_year = rng.randint(2005, 2025)
    hobby1, hobby2 = rng.sample(HOBBIES, 2)
    spouse_name = other_first_name()
    spouse_year = min(2005, birth_year + rng.randint(-6, 6))
    has_child = birth_year <= 1998 and rng.random() < 0.7
    child_name = other_first_name() if has_child else None
    child_year = rng.randint(birth_year + 22, min(2025, birth_year + 42)) if has_child else None
    sibling_name = other_first_name()
    sibling_year = min(2008, birth_year + rng.choice((-9, -7, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 8)))
    day_count = rng.choice((1, 1, 2, 2, 2, 3))
    activity_days = [WEEKDAYS[i] for i in sorted(rng.sample(range(7), day_count))]
    doctor_surname, dentist_surname = rng.sample([s for s in SURNAMES if s != last], 2)
    return {
        "uid": uid,
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "birth_year": birth_year,
        "city": city,
        "timezone": timezone,
        "job": rng.choice(JOBS),
        "employer": rng.choice(EMPLOYERS),
        "workdays": workdays,
        "work_start": rng.choice(WORK_START_TIMES),
        "commute_min": rng.randrange(5, 65, 5),
        "pet_species": rng.choice(PET_SPECIES),
        "pet_name": rng.choice(PET_NAMES),
        "car_desc": f"{car_year} {make} {model}",
        "car_year": car_year,
        "hobby1": hobby1,
        "hobby2": hobby2,
        "cuisine": rng.choice(CUISINES),
        "allergy": rng.choice(ALLERGY_NAMES),
        "spouse_name": spouse_name,
        "spouse_year": spouse_year,
        "child_name": child_name,
        "child_year": child_year,
        "sibling_name": sibling_name,
        "sibling_year": sibling_year,
        "activity": rng.choice(ACTIVITIES),
        "activity_days": activity_days,
        "rent": rng.randrange(850, 4300, 50),
        "emergency_contact": other_first_name(),
        "ec_phone_last": f"{rng.randrange(10000):04d}",
        "phone_model": rng.choice(PHONE_MODELS),
        "doctor": f"Dr. {doctor_surname}",
        "dentist": f"Dr. {dentist_surname}",
        "coffee": rng.choice(COFFEE_ORDERS),
        "running_pace": rng.randint(6, 13),
        "shoe_size": rng.randint(5, 14),
        "color": rng.choice(COLORS),
    }
