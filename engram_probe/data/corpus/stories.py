"""General-English generators: short stories, descriptions of places, weather reports and animal facts."""

from __future__ import annotations

import random

from engram_probe.data import synthetic_users as su
from engram_probe.data.corpus.text import (
    art,
    cap,
    city,
    clock,
    count,
    date,
    money,
    person,
    price_cents,
    quote,
    time_phrase,
)
from engram_probe.data.corpus.vocab import (
    ADVERBS,
    ANIMAL_SOUNDS,
    ANIMALS,
    DIRECTIONS,
    FEELINGS,
    FOODS,
    INTRANSITIVE_VERBS,
    NAMES,
    OBJECT_VERBS,
    OBJECTS,
    PLACE_ADJS,
    PLACE_FEATURES,
    PLACES,
    SEASONS,
    SMELLS,
    STORY_ANIMALS,
    STREETS,
    SURFACES,
    TOPICS,
    WEATHER_CONDITIONS,
)

# fmt: off
_OBJECT_STATES = ("was missing", "was broken", "looked brand new", "was much heavier than expected",
                  "had been painted blue")
_PLACE_PURPOSES = ("read", "meet friends", "buy groceries", "work", "rest", "sketch", "talk", "drink coffee")
_PLACE_OPINIONS = ("haunted", "the oldest in the region", "too crowded", "a hidden gem", "best in the rain")
_PLACE_VERDICTS = ("Yes, especially on a weekday.", "Certainly, if you like quiet places.",
                   "Only if you have time.", "Most visitors think so.")
_ATMOSPHERES = ("quiet", "calm", "peaceful", "bright", "cool", "lively", "empty", "busy", "magical")
# fmt: on


def gen_story(r: random.Random) -> str:
    n1, (p, _o, poss, was) = person(r)
    n2 = r.choice(NAMES)
    place, place2 = r.sample(PLACES, 2)
    obj, obj2 = r.sample(OBJECTS, 2)
    animal = r.choice(STORY_ANIMALS)
    opening = r.choice(
        (
            f"{cap(time_phrase(r))}, {n1} walked to the {place} to {r.choice(('buy', 'look for', 'return'))} "
            f"{art(obj)}.",
            f"{n1} woke up early on {r.choice(su.WEEKDAYS)} and decided to visit the {place}.",
            f"It was {art(r.choice(WEATHER_CONDITIONS))} {r.choice(('morning', 'afternoon', 'evening'))} in "
            f"{city(r)} when {n1} left the house.",
            f"Last {r.choice(SEASONS)}, {n1} spent a week near the {place}.",
            f"{n1} had promised to meet {n2} at the {place} at {clock(r)}.",
            f"Nobody expected {n1} to arrive at the {place} so {r.choice(('early', 'late', 'soon'))}.",
            f"On {date(r)}, {n1} finally opened the {r.choice(PLACE_ADJS)} {obj} that had been on the "
            f"{r.choice(SURFACES)} for weeks.",
        )
    )
    middle_pool = [
        lambda: f"{cap(p)} {r.choice(OBJECT_VERBS)[1]} the {obj} and put it on the {r.choice(SURFACES)}.",
        lambda: f"On the way, {p} saw {art(animal)} near the {place2}.",
        lambda: (
            f"The {place} was {r.choice(PLACE_ADJS)} and {r.choice(PLACE_ADJS)}, and it smelled of {r.choice(SMELLS)}."
        ),
        lambda: f"{cap(p)} bought {count(r, 2, 12)[1]} {r.choice(FOODS)} for {money(price_cents(r, 2, 30))}.",
        lambda: (
            f"{n2} arrived {r.choice(('late', 'a little early', 'out of breath', 'with a big smile'))} and "
            f"{r.choice(('apologized', 'waved', 'laughed', 'sat down'))}."
        ),
        lambda: quote(
            r.choice(
                (
                    "What a day!",
                    "Look at that!",
                    "We should hurry.",
                    "I did not expect this.",
                    "Is this yours?",
                    "Let us go home.",
                )
            ),
            "said",
            n2,
        ),
        lambda: f"They talked about {r.choice(TOPICS)} for {count(r, 5, 50)[1]} minutes.",
        lambda: f"{cap(p)} felt {r.choice(FEELINGS)} because the {obj2} {r.choice(_OBJECT_STATES)}.",
        lambda: f"Suddenly, {art(animal)} ran across the path and disappeared behind the {place2}.",
        lambda: (
            f"{n2} {r.choice(INTRANSITIVE_VERBS)[1]} {r.choice(ADVERBS)} while {p} {r.choice(INTRANSITIVE_VERBS)[1]}."
        ),
        lambda: (
            f"The {obj2} cost {money(price_cents(r, 3, 80))}, which seemed "
            f"{r.choice(('fair', 'too much', 'cheap', 'reasonable'))}."
        ),
        lambda: f"Then {p} {r.choice(OBJECT_VERBS)[1]} {art(obj2)} for {n2}.",
        lambda: f"It started to {r.choice(('rain', 'snow', 'drizzle'))}, so they took shelter near the {place2}.",
        lambda: (
            f"{cap(poss)} {r.choice(('sister', 'brother', 'friend', 'neighbor', 'cousin', 'aunt', 'uncle'))} "
            f"called to ask about {r.choice(TOPICS)}."
        ),
    ]
    middle = [f() for f in r.sample(middle_pool, r.randint(4, 7))]
    closing = r.choice(
        (
            f"By {clock(r, 17, 22)}, {n1} was back home and {r.choice(FEELINGS)}.",
            f"It had been {art(r.choice(('long', 'strange', 'wonderful', 'busy', 'quiet', 'lucky')))} day.",
            f"{n1} decided to come back next {r.choice(su.WEEKDAYS)}.",
            f"That night, {p} wrote about it in {poss} notebook.",
            f"Later, {n1} told {n2} the whole story, and they both laughed.",
            "",
        )
    )
    return " ".join(s for s in [opening, *middle, closing] if s)


def gen_place(r: random.Random) -> str:
    place = r.choice(PLACES)
    town = city(r)
    adj1, adj2 = r.sample(PLACE_ADJS, 2)
    f1, f2 = r.sample(PLACE_FEATURES, 2)
    sentences = [
        r.choice(
            (
                f"The {place} on {r.choice(STREETS)} Street in {town} is {adj1} and {adj2}.",
                f"In the center of {town} there is {art(adj1)} {place}.",
                f"Visitors to {town} often stop at the {adj1} {place} near {r.choice(STREETS)} Road.",
            )
        ),
        r.choice(
            (
                f"It has {count(r, 2, 14)[1]} {f1} and {r.choice(('a few', 'several', 'many', 'some'))} {f2}.",
                f"Inside, you will find {f1}, {f2} and {art(r.choice(PLACE_ADJS))} {r.choice(OBJECTS)} by the door.",
                f"The building was finished in {r.randint(1850, 2022)} and still has its {f1}.",
            )
        ),
    ]
    extras = [
        f"Most mornings, people come here to {r.choice(_PLACE_PURPOSES)}.",
        f"In {r.choice(SEASONS)}, the {r.choice(('trees', 'gardens', 'streets', 'windows', 'hills'))} nearby look "
        f"{r.choice(('golden', 'bright green', 'white', 'pink', 'gray', 'red and orange'))}.",
        f"The best time to visit is {time_phrase(r)}, when it is {r.choice(_ATMOSPHERES)}.",
        f"Nearby there is {art(r.choice(PLACES))} and {art(r.choice(PLACES))}.",
        f"Entry costs {money(price_cents(r, 2, 25))} for adults, and children under {r.randint(5, 16)} go in free.",
        f"It opens at {clock(r, 6, 10)} and closes at {clock(r, 16, 23)}.",
        f"Some people say the {place} is {r.choice(_PLACE_OPINIONS)}.",
        f"From the top floor you can see the {r.choice(('river', 'harbor', 'mountains', 'old town', 'sea'))}.",
        f"Is it worth a visit? {r.choice(_PLACE_VERDICTS)}",
    ]
    sentences += r.sample(extras, r.randint(4, 7))
    return " ".join(sentences)


def gen_weather(r: random.Random) -> str:
    town = city(r)
    c1, c2 = r.sample(WEATHER_CONDITIONS, 2)
    conds = {c1, c2}
    if conds & {"snowy", "frosty"}:
        hi_t = r.randint(-12, 3)
    elif "humid" in conds:
        hi_t = r.randint(22, 38)
    else:
        hi_t = r.randint(-2, 33)
    lo_t = hi_t - r.randint(3, 14)
    wet = bool(conds & {"rainy", "stormy", "drizzly"})
    if hi_t < 8:
        advice = (
            "Wear a warm coat and gloves.",
            "Gardeners may want to cover young plants tonight.",
            "Watch out for ice on the pavements.",
        )
    elif hi_t > 27:
        advice = (
            "Remember to drink plenty of water.",
            "Sunscreen is a good idea around noon.",
            "Try to stay in the shade in the afternoon.",
        )
    elif wet:
        advice = (
            "Bring an umbrella if you go out.",
            "Drivers should slow down on wet roads.",
            "Expect delays on the coastal road.",
        )
    else:
        advice = (
            "It is a good day to dry laundry outside.",
            "The evening should be pleasant for a walk.",
            "Keep an eye on the sky in the afternoon.",
        )
    unit = r.choice(("degrees", "degrees Celsius", "°C"))
    if r.random() < 0.5:
        parts = [
            f"Weather for {town} on {r.choice(su.WEEKDAYS)}, {date(r, False)}:",
            f"{cap(c1)} in the morning, becoming {c2} by the afternoon.",
            f"The high will be {hi_t} {unit} and the low {lo_t} {unit}.",
            f"Winds from the {r.choice(DIRECTIONS)} at {r.randint(3, 45)} kilometers per hour.",
        ]
        if r.random() < 0.6:
            parts.append(f"The chance of rain is {r.choice(range(0, 101, 10))} percent.")
        parts.append(r.choice(advice))
        return " ".join(parts)
    parts = [
        r.choice(
            (
                f"Yesterday in {town} it was {c1} and {c2}.",
                f"The weather in {town} this week has been mostly {c1}.",
                f"It is {c1} in {town} today, and the sky is {r.choice(('gray', 'pale blue', 'white', 'dark'))}.",
            )
        ),
        f"At {clock(r)} the thermometer showed {r.randint(lo_t, hi_t)} {unit}.",
    ]
    parts += r.sample(
        [
            "Children were playing in the puddles.",
            "Most people stayed indoors.",
            "The cafes put their tables outside.",
            "The buses were running late.",
            f"{r.choice(NAMES)} wore a thick scarf and still felt cold.",
            "The farmers were glad about the rain.",
            "The harbor was full of small boats.",
            f"By {clock(r, 12, 18)} the {r.choice(('wind', 'rain', 'fog', 'snow', 'heat'))} had "
            f"{r.choice(('eased', 'grown stronger', 'cleared', 'returned'))}.",
            f"The {r.choice(PLACES)} closed early because of the {r.choice(('storm', 'heat', 'ice', 'flooding'))}.",
            f"Over the past {r.randint(2, 9)} days, {r.randint(5, 120)} millimeters of rain have fallen.",
            f"Dog walkers in the {r.choice(('park', 'old town', 'forest', 'harbor'))} wore "
            f"{r.choice(('raincoats', 'boots', 'sunglasses', 'hats'))}.",
        ],
        r.randint(2, 4),
    )
    if r.random() < 0.5:
        parts.append(
            f"Will it be {r.choice(WEATHER_CONDITIONS)} tomorrow? The forecast says "
            f"{r.choice(('probably', 'maybe', 'probably not', 'yes'))}."
        )
    return " ".join(parts)


def gen_animals(r: random.Random) -> str:
    text = _animal_paragraph(r, r.choice(ANIMALS))
    if r.random() < 0.6:
        text += " " + _animal_paragraph(r, r.choice(ANIMALS))
    return text


def _animal_paragraph(r: random.Random, a: tuple[str, str, str, str, str, int]) -> str:
    sg, pl, habitat, diet, trait, size = a
    sentences = [
        r.choice(
            (
                f"{cap(pl)} live in {habitat} and eat {diet}.",
                f"Where do {pl} live? They live in {habitat}.",
                f"The {sg} is an animal of {habitat}.",
            )
        ),
        r.choice(
            (
                f"Many {pl} {trait}.",
                f"Did you know that {pl} {trait}?",
                f"One interesting fact: {pl} {trait}.",
            )
        ),
    ]
    if r.random() < 0.7:
        sentences.append(r.choice((f"What do {pl} eat? Mostly {diet}.", f"Their diet is mostly {diet}.")))
    others = [b for b in ANIMALS if abs(b[5] - size) >= 2]
    if others and r.random() < 0.7:
        b = r.choice(others)
        bigger, smaller = (a, b) if size > b[5] else (b, a)
        sentences.append(
            r.choice(
                (
                    f"{cap(art(bigger[0]))} is bigger than {art(smaller[0])}.",
                    f"{cap(art(smaller[0]))} is smaller than {art(bigger[0])}.",
                    f"Which is larger, {art(a[0])} or {art(b[0])}? {cap(art(bigger[0]))} is larger.",
                )
            )
        )
    if sg in ANIMAL_SOUNDS and r.random() < 0.6:
        sentences.append(f"The {sg} {ANIMAL_SOUNDS[sg]}.")
    if r.random() < 0.5:
        n = r.randint(2, 40)
        sentences.append(
            f"Last {r.choice(SEASONS)}, {r.choice(NAMES)} counted {n} {pl if n > 1 else sg} near the "
            f"{r.choice(('river', 'lake', 'old barn', 'forest path', 'harbor', 'meadow'))}."
        )
    return " ".join(sentences)
