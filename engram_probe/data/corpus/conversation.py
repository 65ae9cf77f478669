"""General-English generators: dialogues, lists and receipts, arithmetic, world Q/A and letters."""

from __future__ import annotations

import random

from engram_probe.data import synthetic_users as su
from engram_probe.data.corpus.text import art, cap, city, clock, date, fmt_minutes, money, person, price_cents, quote
from engram_probe.data.corpus.vocab import (
    ANIMALS,
    FOODS,
    FRUIT_COLORS,
    MONTH_DAYS,
    MONTHS,
    NAMES,
    NUM_WORDS,
    OBJECTS,
    OPPOSITES,
    PLACE_ADJS,
    PLACES,
    RECIPES,
    SEASONS,
    STREETS,
    SURFACES,
    WEATHER_CONDITIONS,
    WORK_OBJECTS,
)


def _dialogue_lines(r: random.Random, a: str, b: str) -> list[tuple[str, str]]:
    kind = r.randrange(6)
    obj = r.choice(OBJECTS)
    if kind == 0:
        return [
            (a, f"Have you seen my {obj}?"),
            (b, f"I think it is on the {r.choice(SURFACES)}."),
            (a, f"Thanks! I need it for {r.choice(('tomorrow', 'the trip', 'work', 'the picnic', 'my class'))}."),
            (b, r.choice(("No problem.", "You always lose it!", "Let me know if it is not there."))),
        ]
    if kind == 1:
        food = r.choice(FOODS)
        each = price_cents(r, 1, 6)
        n = r.randint(2, 9)
        return [
            (a, f"How much are the {food}?"),
            (b, f"{money(each)} each."),
            (a, f"Then I will take {NUM_WORDS[n]}. That makes {money(each * n)}, right?"),
            (b, r.choice(("Exactly right.", "Yes, that is correct.", "Correct. Do you need a bag?"))),
        ]
    if kind == 2:
        place = r.choice(PLACES)
        turn = r.choice(("left", "right"))
        return [
            (a, f"Excuse me, how do I get to the {place}?"),
            (b, f"Go straight for {r.randint(2, 6)} blocks, then turn {turn} at the {r.choice(PLACES)}."),
            (a, "Is it far?"),
            (b, f"About {r.randint(5, 25)} minutes on foot."),
        ]
    if kind == 3:
        day = r.choice(su.WEEKDAYS)
        when = clock(r, 9, 20)
        place = r.choice(PLACES)
        return [
            (a, f"Are you free on {day}?"),
            (b, f"Only after {when}. Why?"),
            (a, f"I wanted to go to the {place} together."),
            (b, f"Sounds good. Let us meet there at {when}."),
        ]
    if kind == 4:
        dish = r.choice(RECIPES)[0]
        return [
            (a, "What would you like to eat tonight?"),
            (b, f"How about {dish}?"),
            (a, f"We are out of {r.choice(RECIPES)[1][0]}."),
            (
                b,
                r.choice(
                    (
                        "Then I will buy some on the way home.",
                        "Let us order something instead.",
                        "Fine, we can have soup.",
                    )
                ),
            ),
        ]
    cond = r.choice(WEATHER_CONDITIONS)
    return [
        (a, "What is the weather like?"),
        (b, f"It is {cond} and about {r.randint(-5, 34)} degrees."),
        (a, f"Should I take {art(r.choice(('umbrella', 'jacket', 'hat', 'scarf')))}?"),
        (b, r.choice(("Yes, just in case.", "No, you will be fine.", "Definitely."))),
    ]


def gen_dialogue(r: random.Random) -> str:
    a, b = r.sample(NAMES, 2)
    lines = _dialogue_lines(r, a, b)
    if r.random() < 0.6:
        lines += _dialogue_lines(r, a, b)
    if r.random() < 0.5:
        return "\n".join(f"{who}: {text}" for who, text in lines)
    out = []
    for i, (who, text) in enumerate(lines):
        verb = "asked" if text.endswith("?") else r.choice(("said", "replied", "answered", "added"))
        if i == 0:
            verb = "asked" if text.endswith("?") else "said"
        out.append(quote(text, verb, who))
    return " ".join(out)


def gen_list(r: random.Random) -> str:
    kind = r.randrange(4)
    if kind == 0:
        items = r.sample(FOODS, r.randint(5, 9))
        lines = [f"- {r.randint(1, 6)} {it}" for it in items]
        tail = r.choice(
            (
                "",
                f"Ask {r.choice(NAMES)} if we still need {r.choice(FOODS)}.",
                f"The market closes at {clock(r, 17, 21)}.",
                f"Budget: {money(price_cents(r, 20, 90))}.",
            )
        )
        return f"Shopping list for {r.choice(su.WEEKDAYS)}:\n" + "\n".join(lines) + (f"\n{tail}" if tail else "")
    if kind == 1:
        items = r.sample(OBJECTS, r.randint(5, 10))
        town = city(r)
        head = f"Things to pack for {town}:" if r.random() < 0.5 else "Packing list:"
        note = r.choice(
            (
                f"The trip to {town} is {r.randint(2, 14)} days long.",
                f"The forecast for {town} says it will be {r.choice(WEATHER_CONDITIONS)}.",
                f"Leave the {r.choice(OBJECTS)} at home this time.",
                "Check the passport twice!",
            )
        )
        return head + " " + ", ".join(items) + ". " + note
    if kind == 2:
        chores = [
            f"call {r.choice(NAMES)}",
            f"return the {r.choice(OBJECTS)} to the {r.choice(PLACES)}",
            f"buy {r.choice(FOODS)}",
            "water the plants",
            f"pay the {r.choice(('electric', 'water', 'phone'))} bill",
            f"book a table for {r.randint(2, 8)}",
            "take out the recycling",
            f"fix the {r.choice(OBJECTS)}",
            f"send the {r.choice(WORK_OBJECTS)} to {r.choice(NAMES)}",
            "clean the bathroom",
            f"pick up the {r.choice(OBJECTS)} from the {r.choice(PLACES)}",
            "sweep the porch",
            f"meet {r.choice(NAMES)} at {clock(r, 9, 20)}",
            "renew the library books",
        ]
        picked = r.sample(chores, r.randint(4, 8))
        return f"To do on {r.choice(su.WEEKDAYS)}:\n" + "\n".join(f"{i}. {c}" for i, c in enumerate(picked, 1))
    priced = [(r.choice(FOODS), price_cents(r, 1, 9)) for _ in range(r.randint(4, 8))]
    total = sum(c for _, c in priced)
    lines = [f"{name}: {money(c)}" for name, c in priced]
    shop = f"{r.choice(STREETS)} Street {r.choice(('Market', 'Grocery', 'Deli', 'Corner Shop', 'Bakery'))}"
    paid = r.choice(
        ("Paid by card.", "Paid in cash.", f"Paid {money(total + r.randint(1, 20) * 100 - total % 100)} in cash.")
    )
    return f"Receipt from {shop}, {date(r, True)}\n" + "\n".join(lines) + f"\nTotal: {money(total)}\n{paid}"


def _number_item(r: random.Random) -> str:
    kind = r.randrange(7)
    name, (p, _o, _poss, _was) = person(r)
    has = "have" if p == "they" else "has"
    if kind == 0:
        a, b = r.randint(2, 30), r.randint(2, 30)
        thing = r.choice(FOODS)
        verb = r.choice((("buys", "buy"), ("gets", "get"), ("finds", "find")))[1 if p == "they" else 0]
        return f"{name} has {a} {thing}. {cap(p)} {verb} {b} more. Now {p} {has} {a + b} {thing}."
    if kind == 1:
        a, b = r.randint(2, 12), r.randint(2, 12)
        return r.choice(
            (
                f"{a} times {b} is {a * b}.",
                f"What is {a} times {b}? It is {a * b}.",
                f"If one box holds {a} cups, then {b} boxes hold {a * b} cups.",
            )
        )
    if kind == 2:
        start = r.randint(7 * 60, 20 * 60) // 5 * 5
        length = r.choice((15, 20, 30, 45, 50, 75, 90, 120))
        return (
            f"The {r.choice(('meeting', 'class', 'concert', 'match', 'lecture', 'rehearsal'))} starts at "
            f"{fmt_minutes(start)} and lasts {length} minutes, so it ends at {fmt_minutes(start + length)}."
        )
    if kind == 3:
        price = price_cents(r, 8, 200)
        pct = r.choice((10, 20, 25, 50))
        new = price - price * pct // 100
        return (
            f"The {r.choice(OBJECTS)} costs {money(price)}. With a {pct} percent discount, it costs "
            f"{money(new)}, which saves {money(price - new)}."
        )
    if kind == 4:
        m = r.randrange(12)
        nxt = MONTHS[(m + 1) % 12]
        return r.choice(
            (
                f"{MONTHS[m]} has {MONTH_DAYS[m]} days{' in most years' if m == 1 else ''}.",
                f"The month after {MONTHS[m]} is {nxt}.",
                f"{MONTHS[m]} is month number {m + 1} of the year.",
            )
        )
    if kind == 5:
        d = r.randrange(7)
        k = r.randint(1, 6)
        return r.choice(
            (
                f"The day after {su.WEEKDAYS[d]} is {su.WEEKDAYS[(d + 1) % 7]}.",
                f"If today is {su.WEEKDAYS[d]}, then in {k} day{'s' if k > 1 else ''} it will be "
                f"{su.WEEKDAYS[(d + k) % 7]}.",
                f"The day before {su.WEEKDAYS[d]} is {su.WEEKDAYS[(d - 1) % 7]}.",
            )
        )
    born = r.randint(1940, 2016)
    return (
        f"{name} was born in {born}, so in 2026 {p} {'turn' if p == 'they' else 'turns'} {2026 - born}. "
        f"In {born + 10}, {p} {'were' if p == 'they' else 'was'} ten years old."
    )


def gen_numbers(r: random.Random) -> str:
    items = [_number_item(r) for _ in range(r.randint(3, 7))]
    return ("\n" if r.random() < 0.3 else " ").join(items)


def gen_world_qa(r: random.Random) -> str:
    pairs = []
    for _ in range(r.randint(4, 7)):
        kind = r.randrange(5)
        if kind == 0:
            fruit, color = r.choice(FRUIT_COLORS)
            pairs.append((f"What color is a ripe {fruit}?", f"It is {color}."))
        elif kind == 1:
            w1, w2 = r.choice(OPPOSITES)
            if r.random() < 0.5:
                w1, w2 = w2, w1
            pairs.append((f"What is the opposite of {w1}?", f"The opposite of {w1} is {w2}."))
        elif kind == 2:
            a = r.choice(ANIMALS)
            pairs.append((f"What do {a[1]} eat?", f"{cap(a[1])} eat {a[3]}."))
        elif kind == 3:
            h = r.randint(1, 12)
            pairs.append(
                (f"How many minutes are in {NUM_WORDS[h]} hour{'s' if h > 1 else ''}?", f"There are {60 * h} minutes.")
            )
        else:
            s = r.randrange(4)
            pairs.append((f"Which season comes after {SEASONS[s]}?", f"{cap(SEASONS[(s + 1) % 4])} comes next."))
    if r.random() < 0.5:
        return "\n".join(f"Q: {q}\nA: {a}" for q, a in pairs)
    return " ".join(f"{q} {a}" for q, a in pairs)


def gen_letter(r: random.Random) -> str:
    to, frm = r.sample(NAMES, 2)
    greeting = r.choice(("Dear", "Hi", "Hello"))
    body = r.sample(
        [
            f"Thank you for the {r.choice(OBJECTS)}; it arrived on {r.choice(su.WEEKDAYS)}.",
            f"We finally visited the {r.choice(PLACES)} in {city(r)}, and it was {r.choice(PLACE_ADJS)}.",
            f"The weather here has been {r.choice(WEATHER_CONDITIONS)} all week.",
            f"Could you send me the recipe for {r.choice(RECIPES)[0]}?",
            f"I start my new job as {art(r.choice(su.JOBS))} on {date(r, False)}.",
            f"The {r.choice(ANIMALS)[0]} in the garden is back again.",
            f"Let us meet at the {r.choice(PLACES)} at {clock(r, 10, 19)} next {r.choice(su.WEEKDAYS)}.",
            f"My train ticket cost {money(price_cents(r, 15, 90))}, which is more than last year.",
        ],
        r.randint(3, 6),
    )
    closing = r.choice(("Best wishes,", "Love,", "See you soon,", "Warm regards,", "Take care,"))
    return f"{greeting} {to},\n" + " ".join(body) + f"\n{closing}\n{frm}"
