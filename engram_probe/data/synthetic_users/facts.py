"""Atomic facts of a persona, their paraphrases, and cutting a fact into a prompt and answer."""

from __future__ import annotations

import random
from typing import Any

from engram_probe.data.synthetic_users.schema import FACT_KEYS
from engram_probe.data.synthetic_users.text import _cap, _join_and, answer_text, with_article
from engram_probe.data.synthetic_users.vocab import ALLERGENS


def _fact_answers(a: dict[str, Any]) -> dict[str, Any]:
    """Fact key -> answer value (str, int or list), in FACT_KEYS order, skipping absent facts."""
    values: dict[str, Any] = {
        "name": a["full_name"],
        "birth_year": a["birth_year"],
        "city": a["city"],
        "timezone": a["timezone"],
        "job": a["job"],
        "employer": a["employer"],
        "workdays": list(a["workdays"]),
        "work_start": a["work_start"],
        "commute_min": a["commute_min"],
        "pet": f"{a['pet_species']} named {a['pet_name']}",
        "car": a["car_desc"],
        "car_year": a["car_year"],
        "hobby1": a["hobby1"],
        "hobby2": a["hobby2"],
        "cuisine": a["cuisine"],
        "allergy": a["allergy"],
        "spouse_name": a["spouse_name"],
        "spouse_year": a["spouse_year"],
        "child_name": a["child_name"],
        "child_year": a["child_year"],
        "sibling_name": a["sibling_name"],
        "sibling_year": a["sibling_year"],
        "activity": a["activity"],
        "activity_days": list(a["activity_days"]),
        "rent": a["rent"],
        "emergency_contact": a["emergency_contact"],
        "ec_phone_last": a["ec_phone_last"],
        "phone_model": a["phone_model"],
        "doctor": a["doctor"],
        "dentist": a["dentist"],
        "coffee": a["coffee"],
        "running_pace": a["running_pace"],
        "shoe_size": a["shoe_size"],
        "color": a["color"],
    }
    return {k: values[k] for k in FACT_KEYS if values[k] is not None}


def _paraphrase_options(key: str, answer: Any, a: dict[str, Any]) -> list[str]:
    """All sentence variants of one fact; the first ends with the answer text and a period."""
    f = a["full_name"]
    t = answer_text(answer)
    adj_allergy = dict(ALLERGENS).get(a["allergy"], a["allergy"])
    act = a["activity"]
    act_bare = act[2:] if act.startswith("a ") else act
    if key == "name":
        return [
            f"My name is {t}.",
            f"I am {t}.",
            f"Full name: {t}.",
            f"Everyone knows me as {t}.",
            f"The person you are talking to is {t}.",
        ]
    if key == "birth_year":
        return [
            f"I was born in {t}.",
            f"{f} was born in {t}.",
            f"My birth year is {t}.",
            f"Year of birth: {t}.",
            f"{f} came into the world in {t}.",
        ]
    if key == "city":
        return [
            f"I live in {t}.",
            f"{f} lives in {t}.",
            f"Home city: {t}.",
            f"My home is in {t}.",
            f"{f} is based in {t}.",
        ]
    if key == "timezone":
        return [f"My timezone is {t}.", f"{f}'s timezone is {t}.", f"Time zone: {t}.", f"I keep my calendar in {t}."]
    if key == "job":
        return [
            f"I work as {with_article(t)}.",
            f"{f} works as {with_article(t)}.",
            f"Occupation: {t}.",
            f"My job title is {t}.",
            f"By profession, {f} is {with_article(t)}.",
        ]
    if key == "employer":
        return [
            f"I work at {t}.",
            f"{f} is employed by {t}.",
            f"My employer is {t}.",
            f"Employer: {t}.",
            f"{f} has a job at {t}.",
        ]
    if key == "workdays":
        return [
            f"I work on {t}.",
            f"My working days are {t}.",
            f"{f}'s workdays: {t}.",
            f"{f} goes to work on {_join_and(answer)}.",
            f"Days at work: {t}.",
        ]
    if key == "work_start":
        return [
            f"My workday starts at {t}.",
            f"I start work at {t}.",
            f"{f} begins work at {t}.",
            f"Work start time: {t}.",
        ]
    if key == "commute_min":
        return [
            f"My one-way commute, in minutes, is {t}.",
            f"My commute is {t} minutes each way.",
            f"It takes {f} {t} minutes to get to work.",
            f"Getting to work takes me {t} minutes.",
            f"Commute (minutes, one way): {t}.",
        ]
    if key == "pet":
        return [
            f"I have {with_article(t)}.",
            f"{f}'s pet is {with_article(t)}.",
            f"At home I look after {with_article(t)}.",
            f"Pet: {t}.",
            f"{f} owns {with_article(a['pet_species'])} called {a['pet_name']}.",
        ]
    if key == "car":
        return [
            f"I drive {with_article(t)}.",
            f"{f}'s car is {with_article(t)}.",
            f"My car is {with_article(t)}.",
            f"Vehicle: {t}.",
            f"{f} gets around in {with_article(t)}.",
        ]
    if key == "car_year":
        return [
            f"The model year of my car is {t}.",
            f"My car was built in {t}.",
            f"My car is a {t} model.",
            f"Car model year: {t}.",
            f"{f}'s car is a {t} model.",
        ]
    if key == "hobby1":
        return [
            f"My main hobby is {t}.",
            f"{f} enjoys {t}.",
            f"Favorite pastime: {t}.",
            f"{f}'s favorite hobby is {t}.",
            f"In my free time I mostly do {t}.",
        ]
    if key == "hobby2":
        return [
            f"Another hobby of mine is {t}.",
            f"I also enjoy {t}.",
            f"{f} also likes {t}.",
            f"Second hobby: {t}.",
            f"When I have a spare weekend, I like {t}.",
        ]
    if key == "cuisine":
        return [
            f"My favorite cuisine is {t}.",
            f"{f} loves {t} food.",
            f"I love eating {t} food.",
            f"Favorite cuisine: {t}.",
            f"{f}'s favorite kind of food is {t}.",
        ]
    if key == "allergy":
        return [
            f"I am allergic to {t}.",
            f"I have {with_article(adj_allergy)} allergy.",
            f"{f} is allergic to {t}.",
            f"Allergy on record: {t}.",
            f"{f} has to avoid {t} because of an allergy.",
        ]
    if key == "spouse_name":
        return [
            f"My spouse is {t}.",
            f"{f}'s partner is named {t}.",
            f"I am married to {t}.",
            f"My partner's name is {t}.",
            f"{f} is married to {t}.",
        ]
    if key == "spouse_year":
        return [
            f"My spouse was born in {t}.",
            f"{a['spouse_name']} was born in {t}.",
            f"My spouse's birth year is {t}.",
            f"{f}'s spouse was born in {t}.",
        ]
    if key == "child_name":
        return [
            f"My child is named {t}.",
            f"{f}'s child is {t}.",
            f"I have a child called {t}.",
            f"My kid's name is {t}.",
        ]
    if key == "child_year":
        return [
            f"My child was born in {t}.",
            f"{a['child_name']} was born in {t}.",
            f"My child's birth year is {t}.",
            f"{f}'s child was born in {t}.",
        ]
    if key == "sibling_name":
        return [
            f"My sibling is {t}.",
            f"{f}'s sibling is named {t}.",
            f"I grew up with my sibling {t}.",
            f"My sibling's name is {t}.",
        ]
    if key == "sibling_year":
        return [
            f"My sibling was born in {t}.",
            f"{a['sibling_name']} was born in {t}.",
            f"My sibling's birth year is {t}.",
            f"{f}'s sibling was born in {t}.",
        ]
    if key == "activity":
        return [
            f"My weekly activity is {t}.",
            f"{f} has {t} every week.",
            f"Weekly activity: {t}.",
            f"Every week I make time for {t}.",
        ]
    if key == "activity_days":
        return [
            f"I have {act} on {t}.",
            f"{_cap(act_bare)} days: {t}.",
            f"{f} has {act} on {_join_and(answer)}.",
            f"My {act_bare} schedule: {t}.",
        ]
    if key == "rent":
        return [
            f"My monthly rent is ${t}.",
            f"{f} pays ${t} in rent each month.",
            f"Rent per month: ${t}.",
            f"I pay ${t} a month for rent.",
        ]
    if key == "emergency_contact":
        return [
            f"My emergency contact is {t}.",
            f"{f}'s emergency contact is named {t}.",
            f"In an emergency, please call {t}.",
            f"Emergency contact: {t}.",
        ]
    if key == "ec_phone_last":
        return [
            f"The last four digits of my emergency contact's phone number are {t}.",
            f"{a['emergency_contact']}'s phone number ends in {t}.",
            f"Emergency contact phone (last four digits): {t}.",
        ]
    if key == "phone_model":
        return [
            f"I use {with_article(t)}.",
            f"My phone is {with_article(t)}.",
            f"{f}'s phone is {with_article(t)}.",
            f"Phone: {t}.",
        ]
    if key == "doctor":
        return [
            f"My primary doctor is {t}.",
            f"{f}'s doctor is {t}.",
            f"My family doctor is {t}.",
            f"Primary care physician: {t}.",
        ]
    if key == "dentist":
        return [
            f"My dentist is {t}.",
            f"{f} sees {t} for dental care.",
            f"For dental checkups I go to {t}.",
            f"Dentist: {t}.",
        ]
    if key == "coffee":
        return [
            f"My usual coffee order is {with_article(t)}.",
            f"{f}'s go-to coffee is {with_article(t)}.",
            f"I usually order {with_article(t)}.",
            f"Coffee order: {t}.",
        ]
    if key == "running_pace":
        return [
            f"My running pace in minutes per mile is {t}.",
            f"I run about {t} minutes per mile.",
            f"{f} runs a mile in roughly {t} minutes.",
            f"Running pace (min/mile): {t}.",
        ]
    if key == "shoe_size":
        return [f"My shoe size is {t}.", f"{f} wears a size {t}.", f"I wear size {t} shoes.", f"Shoe size: {t}."]
    if key == "color":
        return [
            f"My favorite color is {t}.",
            f"{f}'s favorite color is {t}.",
            f"The color I like best is {t}.",
            f"Favorite colour: {t}.",
        ]
    raise KeyError(key)


def _make_facts(a: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    facts = []
    for key, answer in _fact_answers(a).items():
        options = _paraphrase_options(key, answer, a)
        extra = rng.sample(options[1:], rng.choice((1, 2)))
        facts.append({"key": key, "answer": answer, "paraphrases": [options[0], *extra]})
    return facts


def fact_prompt(fact: dict[str, Any]) -> tuple[str, str]:
    """Cut a fact into ``(prompt, answer_text)`` so that ``prompt + " " + answer_text`` states it.

    The prompt is the part of the first paraphrase that ends with the answer text (one trailing
    period ignored) before the answer; failing that, the text before the first occurrence of the
    answer in any paraphrase; failing that, ``"My <key> is"``.
    """
    answer = answer_text(fact.get("answer", ""))
    paraphrases = [p for p in fact.get("paraphrases") or [] if isinstance(p, str)]
    if answer:
        for para in paraphrases:
            body = para.rstrip()
            if body.endswith("."):
                body = body[:-1]
            if body.endswith(answer):
                prompt = body[: len(body) - len(answer)].rstrip()
                if prompt:
                    return prompt, answer
        for para in paraphrases:
            pos = para.find(answer)
            if pos > 0:
                prompt = para[:pos].rstrip()
                if prompt:
                    return prompt, answer
    key = str(fact.get("key", "fact")).replace("_", " ")
    return f"My {key} is", answer
