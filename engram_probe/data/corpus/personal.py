"""Personal-fact generators (profiles, Q/A blocks, bios, cards) and notes about the corpus users."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from engram_probe.data import synthetic_users as su
from engram_probe.data.corpus.text import art, clock, date, join_and
from engram_probe.data.corpus.vocab import OBJECTS, TOPICS, TRANSPORT

THIRD_PERSON_QUESTIONS: dict[str, str] = {
    "name": "What is the full name of the person called {first}?",
    "birth_year": "When was {full} born?",
    "city": "Where does {full} live?",
    "job": "What does {full} do for work?",
    "employer": "Where does {full} work?",
    "pet": "What pet does {full} have?",
    "car": "What does {full} drive?",
    "hobby1": "What is {full}'s main hobby?",
    "cuisine": "What food does {full} like best?",
    "allergy": "What is {full} allergic to?",
    "spouse_name": "Who is {full} married to?",
    "sibling_name": "What is the name of {full}'s sibling?",
    "doctor": "Who is {full}'s doctor?",
    "dentist": "Who is {full}'s dentist?",
    "coffee": "What coffee does {full} usually order?",
    "color": "What is {full}'s favorite color?",
    "emergency_contact": "Who is {full}'s emergency contact?",
    "workdays": "Which days does {full} work?",
    "phone_model": "What phone does {full} use?",
}
CARD_LABELS: dict[str, str] = {
    "name": "Name",
    "birth_year": "Born",
    "city": "City",
    "timezone": "Timezone",
    "job": "Job",
    "employer": "Employer",
    "workdays": "Workdays",
    "work_start": "Starts work",
    "commute_min": "Commute (min)",
    "pet": "Pet",
    "car": "Car",
    "hobby1": "Hobby",
    "hobby2": "Other hobby",
    "cuisine": "Favorite cuisine",
    "allergy": "Allergy",
    "spouse_name": "Spouse",
    "child_name": "Child",
    "sibling_name": "Sibling",
    "activity": "Weekly activity",
    "rent": "Rent ($/month)",
    "emergency_contact": "Emergency contact",
    "phone_model": "Phone",
    "doctor": "Doctor",
    "dentist": "Dentist",
    "coffee": "Coffee",
    "shoe_size": "Shoe size",
    "color": "Favorite color",
}


def _personal_profile(r: random.Random, user: dict[str, Any]) -> str:
    facts = r.sample(user["facts"], min(len(user["facts"]), r.randint(5, 10)))
    sentences = [r.choice(f["paraphrases"]) for f in facts]
    a = user["attrs"]
    heading = r.choice(
        (
            "",
            "",
            "",
            "About me:",
            f"Profile of {a['full_name']}.",
            "Personal notes:",
            f"{a['first_name']}'s details:",
            "Facts about me:",
            "Memory:",
        )
    )
    sep = "\n" if r.random() < 0.25 else " "
    body = sep.join(sentences)
    return f"{heading}\n{body}" if heading else body


def _personal_qa(r: random.Random, user: dict[str, Any]) -> str:
    a = user["attrs"]
    facts = {f["key"]: f for f in user["facts"]}
    lines: list[str] = []
    q_tag, a_tag = ("Question:", "Answer:") if r.random() < 0.2 else ("Q:", "A:")
    if r.random() < 0.5:
        # Facts first, then questions that need them (answerable from the context).
        items = r.sample(user["indirect_qa"], r.randint(2, 4))
        keys: list[str] = []
        for item in items:
            keys += [k for k in item["required_fact_keys"] if k in facts and k not in keys]
        context = [r.choice(facts[k]["paraphrases"]) for k in keys]
        r.shuffle(context)
        lines.append(" ".join(context))
        for item in items:
            lines.append(f"{q_tag} {item['question']}\n{a_tag} {item['answer']}")
        return "\n".join(lines)
    pool = list(user["direct_qa"]) + r.sample(user["indirect_qa"], 3)
    for item in r.sample(pool, r.randint(4, 7)):
        question = item["question"]
        key = item.get("key")
        if key in THIRD_PERSON_QUESTIONS and r.random() < 0.3:
            question = THIRD_PERSON_QUESTIONS[key].format(full=a["full_name"], first=a["first_name"])
        lines.append(f"{q_tag} {question}\n{a_tag} {item['answer']}")
    return "\n".join(lines)


def _personal_bio(r: random.Random, user: dict[str, Any]) -> str:
    a = user["attrs"]
    first, full = a["first_name"], a["full_name"]
    third = r.random() < 0.6
    if third:
        options = [
            f"{full} was born in {a['birth_year']} and lives in {a['city']}.",
            f"{first} works as {art(a['job'])} at {a['employer']}, starting at {a['work_start']} on "
            f"{join_and(a['workdays'])}.",
            f"The commute takes {a['commute_min']} minutes each way, and {first} drives {art(a['car_desc'])}.",
            f"At home there is {art(a['pet_species'])} named {a['pet_name']}.",
            f"{first} is married to {a['spouse_name']}, who was born in {a['spouse_year']}.",
            f"In free time, {first} enjoys {a['hobby1']} and {a['hobby2']}.",
            f"{first} is allergic to {a['allergy']} and loves {a['cuisine']} food.",
            f"Every week {first} has {a['activity']} on {join_and(a['activity_days'])}.",
            f"{first}'s doctor is {a['doctor']}, and the dentist is {a['dentist']}.",
            f"In an emergency, call {a['emergency_contact']}; the number ends in {a['ec_phone_last']}.",
            f"{first} has a sibling, {a['sibling_name']}, born in {a['sibling_year']}.",
            f"{first} orders {art(a['coffee'])} most mornings and pays ${a['rent']} a month in rent.",
        ]
        if a["child_name"]:
            options.append(
                f"{first} and {a['spouse_name']} have a child, {a['child_name']}, born in {a['child_year']}."
            )
    else:
        options = [
            f"Hi, I'm {full}, born in {a['birth_year']}, and I live in {a['city']}.",
            f"I work as {art(a['job'])} at {a['employer']} and start at {a['work_start']}.",
            f"My commute is {a['commute_min']} minutes, so I leave home at "
            f"{su._min_to_hhmm(su._hhmm_to_min(a['work_start']) - a['commute_min'])}.",
            f"I share my home with {art(a['pet_species'])} called {a['pet_name']}.",
            f"My spouse {a['spouse_name']} and I like {a['cuisine']} food, but I have to avoid {a['allergy']}.",
            f"On {join_and(a['activity_days'])} I have {a['activity']}.",
            f"My favorite color is {a['color']}, and my coffee is always {art(a['coffee'])}.",
            f"When I get sick I call {a['doctor']}; for my teeth I see {a['dentist']}.",
            f"I drive {art(a['car_desc'])} and use {art(a['phone_model'])}.",
            f"My sibling {a['sibling_name']} was born in {a['sibling_year']}.",
        ]
        if a["child_name"]:
            options.append(f"Our child {a['child_name']} was born in {a['child_year']}.")
    chosen = sorted(r.sample(range(len(options)), r.randint(5, 9)))
    return " ".join(options[i] for i in chosen)


def _personal_card(r: random.Random, user: dict[str, Any]) -> str:
    facts = [f for f in user["facts"] if f["key"] in CARD_LABELS]
    chosen = sorted(r.sample(range(len(facts)), r.randint(6, 10)))
    lines = [f"{CARD_LABELS[facts[i]['key']]}: {su.answer_text(facts[i]['answer'])}" for i in chosen]
    head = r.choice(("Contact card", "Patient intake form", "Member profile", "User record", "Registration"))
    return f"{head}\n" + "\n".join(lines)


PERSONAL_GENERATORS: tuple[tuple[Callable[[random.Random, dict[str, Any]], str], float], ...] = (
    (_personal_profile, 4.0),
    (_personal_qa, 3.0),
    (_personal_bio, 2.0),
    (_personal_card, 1.0),
)


def note_doc(r: random.Random, user: dict[str, Any]) -> str:
    a = user["attrs"]
    pet, species = a["pet_name"], a["pet_species"]
    kind = r.randrange(4)
    day = r.choice(su.WEEKDAYS)
    if kind == 0:
        pool = [
            f"Took {pet} to the vet this morning; the {species} is "
            f"{r.choice(('fine', 'a bit overweight', 'much better', 'healthy'))}.",
            f"Called {a['doctor']} about my {r.choice(('cough', 'back pain', 'headaches', 'sore knee'))}.",
            f"The appointment with {a['dentist']} is moved to {day} at {clock(r, 8, 17)}.",
            f"{a['spouse_name']} cooked {a['cuisine']} food for dinner.",
            f"Went to {a['activity']} today; it was {r.choice(('fun', 'exhausting', 'great', 'long', 'hard'))}.",
            f"{a['sibling_name']} phoned to talk about {r.choice(TOPICS)}.",
            f"Ran {r.randint(2, 8)} miles at about {a['running_pace']} minutes per mile.",
            f"Spent the evening on {a['hobby1']}.",
            f"The {a['car_desc']} needs new tires soon.",
        ]
        if a["child_name"]:
            event = r.choice(("school trip", "fever", "piano recital", "soccer game"))
            pool.append(f"{a['child_name']} had a {event} today.")
        return f"{day}, {date(r, False)}. " + " ".join(r.sample(pool, r.randint(4, 7)))
    if kind == 1:
        items = [
            f"dentist with {a['dentist']}, {day} {clock(r, 8, 17)}",
            f"buy food for {pet}",
            f"checkup with {a['doctor']} on {r.choice(su.WEEKDAYS)}",
            f"call {a['emergency_contact']} back",
            f"pay rent (${a['rent']})",
            f"pick up {a['sibling_name']} from the {r.choice(('airport', 'train station', 'bus stop'))}",
            f"{a['activity']} on {a['activity_days'][0]}",
        ]
        head = r.choice(("Reminders:", "Note to self:", "This week:", "Don't forget:"))
        return head + "\n" + "\n".join(f"- {x}" for x in r.sample(items, r.randint(4, 7)))
    if kind == 2:
        exchanges = [
            (
                f"Can you book a checkup with {a['doctor']} for {day}?",
                f"Done. Your checkup with {a['doctor']} is on {day} at {clock(r, 8, 16)}.",
            ),
            (
                f"Remind me to feed {pet} tonight.",
                f"Okay, I will remind you to feed {pet}, your {species}, at {clock(r, 17, 21)}.",
            ),
            (
                "What time should I leave for work?",
                f"Your workday starts at {a['work_start']} and the commute is {a['commute_min']} minutes, so leave by "
                f"{su._min_to_hhmm(su._hhmm_to_min(a['work_start']) - a['commute_min'])}.",
            ),
            (
                f"Is there anything with {a['allergy']} in the soup?",
                f"I can't tell from here; please ask the restaurant, since you are allergic to {a['allergy']}.",
            ),
            (
                f"Text {a['spouse_name']} that I will be late.",
                f'Sent: "Running late, see you soon." to {a["spouse_name"]}.',
            ),
            (f"When do I have {a['activity']} next?", f"You have {a['activity']} on {join_and(a['activity_days'])}."),
        ]
        turns = r.sample(exchanges, r.randint(3, 5))
        return "\n".join(f"User: {u}\nAssistant: {s}" for u, s in turns)
    other = r.choice([a["spouse_name"], a["sibling_name"], a["emergency_contact"]])
    msgs = [
        (
            a["first_name"],
            r.choice(
                (
                    f"Running late, the {r.choice(TRANSPORT)} is delayed {r.randint(5, 40)} minutes.",
                    f"Can you feed {pet} tonight?",
                    "Are we still on for dinner?",
                    f"Just left {a['employer']}.",
                    f"At {a['doctor']}'s office, will call later.",
                )
            ),
        ),
        (
            other,
            r.choice(
                (
                    "No problem.",
                    "Sure, see you soon.",
                    "OK! Drive safe.",
                    f"Done. {pet} says hi.",
                    "Let me know how it goes.",
                )
            ),
        ),
    ]
    msgs.append((a["first_name"], r.choice(("Thanks!", "You're the best.", "See you at home.", "Will do."))))
    if r.random() < 0.7:
        msgs += r.choice(
            (
                [
                    (other, f"Also, did you call {a['dentist']} about the appointment?"),
                    (a["first_name"], f"Yes, it is on {r.choice(su.WEEKDAYS)} at {clock(r, 8, 17)}."),
                ],
                [
                    (other, f"Don't forget {a['activity']} on {a['activity_days'][0]}."),
                    (a["first_name"], "I won't. Thanks for the reminder."),
                ],
                [
                    (other, f"{pet} knocked over the {r.choice(OBJECTS)} again."),
                    (a["first_name"], f"Of course. That {a['pet_species']} never learns."),
                ],
                [
                    (other, "Should I pick up dinner?"),
                    (a["first_name"], f"Yes please, something {a['cuisine']}. Nothing with {a['allergy']}!"),
                ],
            )
        )
    return "\n".join(f"{who}: {text}" for who, text in msgs)
