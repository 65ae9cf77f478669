"""General-English generators: recipes and how-to steps, work scenes and travel timetables."""

from __future__ import annotations

import random
from collections.abc import Sequence

from engram_probe.data import synthetic_users as su
from engram_probe.data.corpus.text import art, cap, clock, count, fmt_minutes, join_and, money, person, price_cents
from engram_probe.data.corpus.vocab import (
    NAMES,
    OBJECTS,
    PLACE_ADJS,
    PLACES,
    RECIPES,
    STREETS,
    TASKS,
    TRANSPORT,
    WORK_OBJECTS,
    WORK_ROOMS,
)

# fmt: off
_DEPARTURE_POINT: dict[str, str] = {
    "train": "leaves from platform", "night train": "leaves from platform", "tram": "stops at platform",
    "bus": "leaves from bay", "coach": "leaves from bay", "ferry": "departs from pier", "flight": "boards at gate",
}
_JOB_HARD_PARTS = ("the paperwork", "the early mornings", "talking to angry customers", "the long meetings",
                   "keeping track of every detail")
_JOB_GOOD_PARTS = ("helping people", "solving puzzles", "working with a kind team", "seeing a project finished",
                   "learning something new every week")
_PUNCTUALITY = ("Mostly, yes.", "Not always.", "Almost never in winter.", "Yes, about nine times out of ten.")
# fmt: on


def _recipe_steps(r: random.Random, dish: str, ing: Sequence[str], style: str) -> list[str]:
    i0, i1, i2, i3 = ing
    minutes = r.choice((5, 8, 10, 12, 15, 20, 25, 30, 40))
    if style == "soup":
        return [
            f"Chop the {i1} and the {i2}.",
            f"Warm {r.randint(1, 3)} tablespoons of oil in a large pot.",
            f"Cook the {i1} and {i2} for {r.randint(3, 8)} minutes until soft.",
            f"Add the {i0} and {r.choice(('one', 'two'))} liters of {i3}.",
            f"Simmer for {minutes} minutes, then blend until smooth.",
            "Season with salt and pepper and serve hot.",
        ]
    if style == "batter":
        return [
            f"Whisk {r.randint(1, 3)} cups of {i0} with {r.randint(1, 2)} cups of {i1}.",
            f"Beat in {r.randint(1, 3)} {i2}.",
            f"Melt a little {i3} in a pan over medium heat.",
            "Pour in a small ladle of batter and cook until bubbles appear.",
            "Flip it and cook for one more minute.",
            f"Serve the {dish} warm with fruit or syrup.",
        ]
    if style == "bake":
        return [
            f"Heat the oven to {r.choice((170, 175, 180, 190, 200))} degrees Celsius.",
            f"Mix the {i0} with the {i1} in a large bowl.",
            f"Add the {i2} and stir in the {i3}.",
            "Spread the mixture in a greased tin.",
            f"Bake for {r.choice((20, 25, 30, 35, 45, 50))} minutes until golden.",
            f"Let the {dish} cool for {r.randint(5, 20)} minutes before slicing.",
        ]
    if style == "stirfry":
        return [
            f"Prepare the {i0}, {i1} and {i2}.",
            "Heat a wok until it is very hot.",
            f"Stir-fry the {i0} for {r.randint(2, 5)} minutes.",
            f"Add the {i1} and the {i2}.",
            f"Finish with a splash of {i3}." if i3 == "soy sauce" else f"Scatter the {i3} on top.",
            f"Serve the {dish} right away.",
        ]
    if style == "salad":
        return [
            f"Wash and cut the {i0}.",
            f"Slice the {i1} thinly.",
            f"Mix everything with the {i2}.",
            f"Sprinkle with {i3} and a pinch of salt.",
            f"Chill for {minutes} minutes before serving.",
        ]
    return [
        f"Put the {i0} and the {i1} in a blender or pot.",
        f"Add the {i2}.",
        f"Stir in the {i3}.",
        "Taste it and adjust the sweetness.",
        f"Serve the {dish} {r.choice(('hot', 'cold', 'over ice'))}.",
    ]


def _task_steps(r: random.Random, task: str) -> list[str]:
    n = r.randint(2, 6)
    if task == "repot a houseplant":
        return [
            "Water the plant a day before.",
            f"Choose a pot about {n} centimeters wider than the old one.",
            "Gently lift the plant and loosen the roots.",
            "Add fresh soil and set the plant at the same depth.",
            "Water it well and keep it out of direct sun for a week.",
        ]
    if task == "fix a flat bicycle tire":
        return [
            "Remove the wheel from the frame.",
            "Use two tire levers to take off the tire.",
            "Find the hole by pumping up the tube and listening for air.",
            "Patch the hole or fit a new tube.",
            f"Pump the tire to about {r.choice((40, 50, 60, 80))} psi.",
        ]
    if task == "clean a window without streaks":
        return [
            f"Mix {n} cups of warm water with a splash of vinegar.",
            "Wipe the frame first.",
            "Wash the glass from top to bottom.",
            "Dry it with a clean, soft cloth.",
            "Work on a cloudy day so the glass does not dry too fast.",
        ]
    if task == "plant tomato seedlings":
        return [
            f"Wait until nights are warmer than {r.randint(8, 12)} degrees.",
            "Dig a hole deeper than the pot.",
            "Bury the stem up to the first leaves.",
            f"Space the plants {r.choice((40, 50, 60))} centimeters apart.",
            "Water at the base, not on the leaves.",
        ]
    if task == "pack a small suitcase":
        return [
            "Make a list the day before.",
            "Roll your clothes instead of folding them.",
            "Put heavy shoes at the bottom near the wheels.",
            f"Pack no more than {n} shirts for a short trip.",
            "Keep your tickets and passport in an outside pocket.",
        ]
    if task == "brew a good pot of tea":
        return [
            "Boil fresh water.",
            "Warm the teapot with a little hot water.",
            f"Add {n} teaspoons of loose tea.",
            f"Let it steep for {r.randint(3, 5)} minutes.",
            "Pour through a strainer and add milk or lemon if you like.",
        ]
    if task == "hang a picture frame":
        return [
            "Decide where the center of the picture should be.",
            "Mark the spot lightly with a pencil.",
            "Use a level to keep the line straight.",
            "Drive a nail or screw into the wall at a slight angle.",
            "Hang the frame and step back to check it.",
        ]
    if task == "prepare for a job interview":
        return [
            "Read about the company and its products.",
            f"Write down {n} questions you want to ask.",
            "Practice your answers out loud.",
            "Plan your route and arrive ten minutes early.",
            "Send a short thank-you note afterwards.",
        ]
    if task == "save a little money every month":
        pct = r.choice((5, 10, 15, 20))
        return [
            f"Move {pct} percent of each paycheck into a savings account.",
            "Cook at home more often.",
            "Cancel subscriptions you do not use.",
            "Wait a day before any large purchase.",
            "Check your progress at the end of each month.",
        ]
    if task == "wash a wool sweater":
        return [
            "Fill a basin with cool water.",
            "Add a small amount of gentle soap.",
            f"Soak the sweater for {r.choice((10, 15, 20))} minutes without rubbing.",
            "Press out the water with a towel.",
            "Dry it flat, away from the heater.",
        ]
    if task == "start a vegetable compost":
        return [
            "Pick a shady corner of the garden.",
            "Start with a layer of twigs.",
            "Add kitchen scraps and dry leaves in turns.",
            f"Turn the pile every {n} weeks.",
            "After a few months, use the dark soil in your beds.",
        ]
    return [
        "Scrub the old paint with a stiff brush.",
        "Let the wood dry completely.",
        f"Paint the first coat on a dry day above {r.randint(10, 15)} degrees.",
        "Wait a day and add a second coat.",
        "Clean the brushes with warm soapy water.",
    ]


def gen_howto(r: random.Random) -> str:
    if r.random() < 0.55:
        dish, ing, style = r.choice(RECIPES)
        steps = _recipe_steps(r, dish, ing, style)
        title = r.choice((f"How to make {dish}", f"Recipe: {dish}", f"Easy {dish} for {r.randint(2, 6)} people"))
        intro = f"You will need {join_and(ing)}."
    else:
        task = r.choice(TASKS)
        steps = _task_steps(r, task)
        title = r.choice((f"How to {task}", f"Tips: how to {task}", f"Want to {task}? Here is how."))
        intro = r.choice(
            (
                "It is easier than it looks.",
                "This takes about an hour.",
                "You do not need special tools.",
                "Follow these steps in order.",
                "",
            )
        )
    if len(steps) > 4 and r.random() < 0.4:
        steps = steps[:4]
    if r.random() < 0.5:
        body = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
    else:
        middle = ("Next,", "Then", "After that,")
        words = [
            "First," if i == 0 else "Finally," if i == len(steps) - 1 else middle[(i - 1) % 3]
            for i in range(len(steps))
        ]
        body = " ".join(f"{w} {s[0].lower()}{s[1:]}" for w, s in zip(words, steps, strict=True))
    return "\n".join(x for x in (title if title.endswith((".", "?")) else title + ":", intro, body) if x)


_WORK_VERBS: tuple[tuple[str, str], ...] = (
    ("checks", "check"),
    ("reviews", "review"),
    ("updates", "update"),
    ("prints", "print"),
    ("signs", "sign"),
    ("finishes", "finish"),
    ("rewrites", "rewrite"),
)


def gen_work(r: random.Random) -> str:
    name, (p, _o, poss, was) = person(r)
    job = r.choice(su.JOBS)
    employer = r.choice(su.EMPLOYERS)
    wo1, wo2 = r.sample(WORK_OBJECTS, 2)
    start = r.randint(7 * 60, 10 * 60 + 30) // 15 * 15
    meeting = start + r.choice((60, 90, 120, 150, 180))
    length = r.choice((15, 30, 45, 60, 90))
    sentences = [
        r.choice(
            (
                f"{name} is {art(job)} at {employer} and usually starts work at {fmt_minutes(start)}.",
                f"At {employer}, the day for {name}, {art(job)}, begins at {fmt_minutes(start)}.",
                f"{name} has worked as {art(job)} for {count(r, 2, 25)[1]} years.",
            )
        ),
        f"First, {p} {r.choice(_WORK_VERBS)[1 if p == 'they' else 0]} the {wo1}.",
        f"The team meets in the {r.choice(WORK_ROOMS)} at {fmt_minutes(meeting)} for {length} minutes, so the "
        f"meeting ends at {fmt_minutes(meeting + length)}.",
    ]
    extras = [
        f"Today there are {count(r, 3, 40)[1]} emails waiting about the {wo2}.",
        f"{cap(poss)} manager, {r.choice(NAMES)}, wants the {wo2} by {r.choice(su.WEEKDAYS)}.",
        f"Lunch is usually {r.choice(('soup', 'a sandwich', 'leftover pasta', 'a salad', 'rice and beans'))} "
        f"in the {r.choice(WORK_ROOMS)}.",
        f"The hardest part of the job is {r.choice(_JOB_HARD_PARTS)}.",
        f"The best part is {r.choice(_JOB_GOOD_PARTS)}.",
        f"By {clock(r, 15, 19)}, {p} {'have' if p == 'they' else 'has'} finished the {wo1} and gone home.",
        f"Next month, {employer} will move to a new office on {r.choice(STREETS)} Street.",
    ]
    sentences += r.sample(extras, r.randint(3, 6))
    return " ".join(sentences)


def gen_travel(r: random.Random) -> str:
    mode = r.choice(TRANSPORT)
    c1, tz = r.choice(su.CITIES)
    # Only flights connect cities in different time zones.
    same_zone = [c for c, z in su.CITIES if c != c1 and z == tz]
    if not same_zone:
        mode = "flight"
    c2 = r.choice(same_zone if mode != "flight" else [c for c, _ in su.CITIES if c != c1])
    dep = r.randint(5 * 60, 22 * 60) // 5 * 5
    dur = r.randint(25, 420) // 5 * 5
    hours, mins = divmod(dur, 60)
    dur_text = (
        f"{hours} hour{'s' if hours != 1 else ''} and {mins} minutes"
        if hours and mins
        else f"{hours} hour{'s' if hours != 1 else ''}"
        if hours
        else f"{mins} minutes"
    )
    price = price_cents(r, 9, 180)
    sentences = [
        r.choice(
            (
                f"The {mode} from {c1} to {c2} leaves at {fmt_minutes(dep)} and takes {dur_text}, "
                f"arriving at {fmt_minutes(dep + dur)}.",
                f"{r.choice(NAMES)} took the {fmt_minutes(dep)} {mode} from {c1} and reached {c2} {dur_text} later.",
                f"Travel note: {c1} to {c2} by {mode}, {dur_text}.",
            )
        ),
        f"A one-way ticket costs {money(price)}, and a return ticket costs {money(price * 2 - price // 10)}.",
    ]
    extras = [
        f"The {mode} {_DEPARTURE_POINT[mode]} {r.randint(1, 24)}.",
        f"Bring {r.choice(('a book', 'snacks', 'a warm jacket', 'your passport', 'headphones'))} for the trip.",
        f"In {c2}, visitors like the {r.choice(PLACE_ADJS)} {r.choice(PLACES)} and the {r.choice(PLACES)}.",
        f"On {r.choice(su.WEEKDAYS)}s there is {r.choice(('one extra', 'no', 'a later', 'an earlier'))} service.",
        f"Packing list: {join_and(r.sample(OBJECTS, r.randint(3, 5)))}.",
        f"Is the {mode} usually on time? {r.choice(_PUNCTUALITY)}",
    ]
    sentences += r.sample(extras, r.randint(3, 6))
    return " ".join(sentences)
