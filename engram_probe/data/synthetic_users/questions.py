"""Direct questions (one per fact) and indirect questions that need reasoning over facts."""

from __future__ import annotations

import random
from typing import Any

from engram_probe.data.synthetic_users.facts import _fact_answers
from engram_probe.data.synthetic_users.text import _hhmm_to_min, _min_to_hhmm, answer_text, with_article
from engram_probe.data.synthetic_users.vocab import CURRENT_YEAR, DISHES, WEEKDAYS

DIRECT_QUESTIONS: dict[str, str] = {
    "name": "What is my full name?",
    "birth_year": "In what year was I born?",
    "city": "Which city do I live in?",
    "timezone": "Which timezone am I in?",
    "job": "What do I do for a living?",
    "employer": "Which company do I work for?",
    "workdays": "On which days of the week do I work?",
    "work_start": "What time does my workday start?",
    "commute_min": "How long is my commute each way, in minutes?",
    "pet": "What kind of pet do I have, and what is its name?",
    "car": "What car do I drive?",
    "car_year": "What model year is my car?",
    "hobby1": "What is my main hobby?",
    "hobby2": "What is my second hobby?",
    "cuisine": "Which cuisine do I like best?",
    "allergy": "What am I allergic to?",
    "spouse_name": "What is my spouse's name?",
    "spouse_year": "In what year was my spouse born?",
    "child_name": "What is my child's name?",
    "child_year": "In what year was my child born?",
    "sibling_name": "What is my sibling's name?",
    "sibling_year": "In what year was my sibling born?",
    "activity": "What activity do I do every week?",
    "activity_days": "On which days of the week do I have {activity}?",
    "rent": "How much is my monthly rent, in dollars?",
    "emergency_contact": "Who is my emergency contact?",
    "ec_phone_last": "What are the last four digits of my emergency contact's phone number?",
    "phone_model": "Which phone do I use?",
    "doctor": "Who is my primary care doctor?",
    "dentist": "Who is my dentist?",
    "coffee": "What do I usually order at the coffee shop?",
    "running_pace": "What is my running pace, in minutes per mile?",
    "shoe_size": "What shoe size do I wear?",
    "color": "What is my favorite color?",
}


def _make_direct_qa(a: dict[str, Any]) -> list[dict[str, str]]:
    qa = []
    for key, answer in _fact_answers(a).items():
        question = DIRECT_QUESTIONS[key].format(activity=a["activity"])
        text = with_article(answer) if key == "pet" else answer_text(answer)
        qa.append({"key": key, "question": question, "answer": text})
    return qa


def _older_of(a_year: int, a_label: str, b_year: int, b_label: str) -> str:
    if a_year < b_year:
        return a_label
    if b_year < a_year:
        return b_label
    return "same age"


def _delta(other_year: int, ref_year: int, ref: str) -> str:
    """How ``other`` compares with ``ref`` ("N year(s) older than <ref>")."""
    if other_year == ref_year:
        return f"the same age as {ref}"
    diff = abs(other_year - ref_year)
    return f"{diff} year(s) {'older' if other_year < ref_year else 'younger'} than {ref}"


def _make_indirect_qa(a: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(schema: str, variant: str, question: str, answer: Any, keys: list[str]) -> None:
        out.append(
            {
                "schema": schema,
                "variant": variant,
                "question": question,
                "answer": str(answer),
                "required_fact_keys": keys,
            }
        )

    now = CURRENT_YEAR
    by, sy, siby = a["birth_year"], a["spouse_year"], a["sibling_year"]
    sp, sib = a["spouse_name"], a["sibling_name"]
    act, days, work = a["activity"], a["activity_days"], a["workdays"]

    # AGE
    add("AGE", "self", f"How old am I now (the year is {now})?", now - by, ["birth_year"])
    add("AGE", "spouse", f"How old is my spouse now (the year is {now})?", now - sy, ["spouse_name", "spouse_year"])
    if a["child_year"] is not None:
        add(
            "AGE",
            "child",
            f"How old is my child now (the year is {now})?",
            now - a["child_year"],
            ["child_name", "child_year"],
        )
    add(
        "AGE",
        "sibling",
        f"How old is my sibling now (the year is {now})?",
        now - siby,
        ["sibling_name", "sibling_year"],
    )
    add("AGE", "car", f"How old is my car now (the year is {now})?", now - a["car_year"], ["car", "car_year"])

    # COMPARE
    add(
        "COMPARE",
        "me_vs_spouse",
        "Which of us is older, me or my spouse?",
        _older_of(by, "me", sy, f"{sp} (my spouse)"),
        ["birth_year", "spouse_name", "spouse_year"],
    )
    add(
        "COMPARE",
        "me_vs_sibling",
        "Which of us is older, me or my sibling?",
        _older_of(by, "me", siby, f"{sib} (my sibling)"),
        ["birth_year", "sibling_name", "sibling_year"],
    )
    earliest = min(by, sy, siby)  # ties resolve in the order me, spouse, sibling
    oldest = "me" if by == earliest else (f"{sp} (my spouse)" if sy == earliest else f"{sib} (my sibling)")
    add(
        "COMPARE",
        "oldest_of_three",
        "Of me, my spouse and my sibling, who was born first?",
        oldest,
        ["birth_year", "spouse_name", "spouse_year", "sibling_name", "sibling_year"],
    )
    add(
        "COMPARE",
        "spouse_vs_sibling",
        "Who is older: my spouse or my sibling?",
        _older_of(sy, f"{sp} (spouse)", siby, f"{sib} (sibling)"),
        ["spouse_name", "spouse_year", "sibling_name", "sibling_year"],
    )

    # DAY_SET
    add("DAY_SET", "work_sun", "Is Sunday one of my workdays?", "Yes" if "Sunday" in work else "No", ["workdays"])
    add("DAY_SET", "work_sat", "Is Saturday one of my workdays?", "Yes" if "Saturday" in work else "No", ["workdays"])
    off_day = rng.choice([d for d in WEEKDAYS if d not in days])
    add("DAY_SET", "activity_off_day", f"Do I have {act} on {off_day}?", "No", ["activity", "activity_days"])
    on_day = rng.choice(days)
    add("DAY_SET", "activity_on_day", f"Do I have {act} on {on_day}?", "Yes", ["activity", "activity_days"])

    # ROUTINE
    add(
        "ROUTINE",
        "activity_on_day",
        f"Which weekly activity is on my schedule for {rng.choice(days)}?",
        act,
        ["activity", "activity_days"],
    )
    add(
        "ROUTINE",
        "days_of_activity",
        f"On which day(s) of the week do I have {act}?",
        ", ".join(days),
        ["activity", "activity_days"],
    )
    add("ROUTINE", "count_days", f"How many days a week do I have {act}?", len(days), ["activity", "activity_days"])
    add("ROUTINE", "name_activity", "What recurring activity do I have every week?", act, ["activity"])

    # ALLERGY
    allergen = a["allergy"]
    unsafe = [d for d, contains in DISHES if allergen in contains]
    safe = [d for d, contains in DISHES if allergen not in contains]
    unsafe_pick = rng.sample(unsafe, 2)
    safe_pick = rng.sample(safe, 2)
    for i in range(2):
        add("ALLERGY", f"unsafe_{i}", f"Can I safely eat {unsafe_pick[i]}?", "No", ["allergy"])
        add(
            "ALLERGY",
            f"safe_{i}",
            f"Looking only at my allergy, is {safe_pick[i]} safe for me to eat?",
            "Yes",
            ["allergy"],
        )

    # COMMUTE
    start = _hhmm_to_min(a["work_start"])
    commute = a["commute_min"]
    add(
        "COMMUTE",
        "leave_time",
        "What time should I leave home to arrive at work exactly when my workday starts?",
        _min_to_hhmm(start - commute),
        ["work_start", "commute_min"],
    )
    add("COMMUTE", "round_trip", "How many minutes does my commute take there and back?", 2 * commute, ["commute_min"])
    add(
        "COMMUTE",
        "weekly_minutes",
        "How many minutes do I spend commuting per week, counting a round trip on each workday?",
        2 * commute * len(work),
        ["commute_min", "workdays"],
    )
    add(
        "COMMUTE",
        "arrive_if_leave_at_start",
        "If I leave home at the time my workday starts, what time will I get to work?",
        _min_to_hhmm(start + commute),
        ["work_start", "commute_min"],
    )

    # POLICY
    add(
        "POLICY",
        "emergency_contact",
        "If nobody can reach me, whom should they contact instead?",
        a["emergency_contact"],
        ["emergency_contact"],
    )
    add("POLICY", "doctor", "Whom should I call about a health problem?", a["doctor"], ["doctor"])
    add("POLICY", "dentist", "Whom should I call about a toothache?", a["dentist"], ["dentist"])
    add(
        "POLICY",
        "ec_phone",
        "What are the last four digits of my emergency contact's number?",
        a["ec_phone_last"],
        ["emergency_contact", "ec_phone_last"],
    )

    # MULTI
    add(
        "MULTI",
        "sibling_delta",
        "Is my sibling older or younger than me, and by how many years?",
        _delta(siby, by, "me"),
        ["birth_year", "sibling_year"],
    )
    add(
        "MULTI",
        "spouse_delta",
        "Is my spouse older or younger than me, and by how many years?",
        _delta(sy, by, "me"),
        ["birth_year", "spouse_year"],
    )
    sib_vs_sp = "the same age" if siby == sy else "my sibling is " + _delta(siby, sy, "my spouse")
    add(
        "MULTI",
        "spouse_vs_sibling_delta",
        "How many years apart are my spouse and my sibling, and who is older?",
        sib_vs_sp,
        ["spouse_year", "sibling_year"],
    )
    years_ahead = rng.choice((5, 10, 15, 20))
    add(
        "MULTI",
        "future_age",
        f"How old will I be {years_ahead} years from now (the year is {now})?",
        now - by + years_ahead,
        ["birth_year"],
    )
    return out
