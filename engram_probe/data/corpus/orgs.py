"""Organisation-fact generators: the made-up companies and documents about them."""

from __future__ import annotations

import random
from typing import Any

from engram_probe.data import synthetic_users as su
from engram_probe.data.corpus.text import art, city, date, poss, quote
from engram_probe.data.corpus.vocab import ANIMALS, MONTHS

# fmt: off
ORG_STEMS: tuple[str, ...] = (
    "Arden", "Bexley", "Corvane", "Dunmore", "Elmsford", "Fenwick", "Galloway", "Harrowgate", "Islay",
    "Jorvane", "Kelso", "Lindell", "Marlow", "Norcott", "Orrin", "Pellam", "Quenby", "Rosslyn",
    "Sorrel", "Tamsin", "Ulvane", "Vesper", "Wrenfield", "Yarrow", "Zennor", "Alderic", "Brisco",
    "Calloway", "Dravo", "Emberly",
)
ORG_SUFFIXES: tuple[str, ...] = (
    "Systems", "Holdings", "Industries", "Labs", "Group", "Dynamics", "Partners", "Works", "Networks",
    "Foods", "Motors", "Logistics", "Pharma", "Energy", "Media",
)
# 150 made-up company names: every stem with five different suffixes.
ORG_NAMES: tuple[str, ...] = tuple(
    f"{stem} {ORG_SUFFIXES[(i * 4 + j * 3) % len(ORG_SUFFIXES)]}"
    for i, stem in enumerate(ORG_STEMS)
    for j in range(5)
)
PRODUCT_NAMES: tuple[str, ...] = (
    "Beacon", "Atlas", "Harbor", "Sparrow", "Quill", "Nimbus", "Cobalt", "Lattice", "Meridian", "Tundra",
    "Falcon", "Prism", "Orchard", "Lantern", "Compass", "Keystone", "Mosaic", "Pinwheel", "Ripple",
    "Sextant", "Trellis", "Vantage", "Windmill", "Zenith", "Anvil", "Bramble", "Cascade", "Driftwood",
    "Ember", "Fjord", "Glacier", "Heron",
)
PRODUCT_KINDS: tuple[str, ...] = (
    "accounting app", "electric scooter", "coffee grinder", "weather sensor", "delivery robot",
    "budget planner", "water filter", "smart thermostat", "hiking boot", "payroll service",
    "school timetable tool", "solar lamp", "frozen dumpling line", "cargo bike", "translation app",
    "hospital scheduling system", "garden tractor", "noise-cancelling headset", "insulin pen", "desk chair",
)
SUPPORT_PREFIXES: tuple[str, ...] = (
    "help", "care", "support", "hello", "service", "contact", "desk", "assist", "team", "answers",
    "customers", "engineering", "billing", "ops",
)
ORDINALS: tuple[str, ...] = ("first", "second", "third", "last")
_CEO_QUOTES = ("We are proud of the team.", "Our customers asked for this.", "This is only the beginning.",
               "It was a long road.")
# fmt: on


def build_orgs(seed: int = 0) -> list[dict[str, Any]]:
    """Made-up organisations with a consistent set of attributes (deterministic for a seed)."""
    r = random.Random(f"engram-corpus-orgs|{seed}")
    orgs: list[dict[str, Any]] = []
    for i, name in enumerate(ORG_NAMES):
        parent = r.choice([o for o in ORG_NAMES if o != name]) if r.random() < 0.75 else None
        domain = "".join(ch for ch in name.lower() if ch.isalnum())
        orgs.append(
            {
                "org": name,
                "parent": parent,
                "mascot": r.choice(ANIMALS)[0],
                "hq": city(r),
                "fy_start": r.choice(MONTHS),
                "ceo": f"{r.choice(su.FIRST_NAMES)} {r.choice(su.SURNAMES)}",
                "ceo_emeritus": f"{r.choice(su.FIRST_NAMES)} {r.choice(su.SURNAMES)}",
                "office_open": r.choice((7, 8, 8, 9, 9, 10)),
                "office_close": r.choice((16, 17, 17, 18, 19)),
                "it_ext": str(r.randint(1000, 9999)),
                "support_email": f"{r.choice(SUPPORT_PREFIXES)}@{domain}.com",
                "flagship": r.choice(PRODUCT_NAMES),
                "product_kind": r.choice(PRODUCT_KINDS),
                "allhands": f"{r.choice(ORDINALS)} {r.choice(su.WEEKDAYS[:5])}",
                "founded": r.randint(1890, 2021),
                "employees": r.choice((40, 85, 120, 250, 400, 900, 1500, 3200, 8000, 12000)) + r.randint(0, 30),
                "index": i,
            }
        )
    return orgs


def _org_sentences(r: random.Random, o: dict[str, Any]) -> list[str]:
    n = o["org"]
    prefix = o["support_email"].split("@")[0]
    out = [
        r.choice(
            (
                f"{n} headquarters is in {o['hq']}.",
                f"{n} is headquartered in {o['hq']}.",
                f"The head office of {n} is in {o['hq']}.",
            )
        ),
        r.choice(
            (
                f"{poss(n)} mascot animal is the {o['mascot']}.",
                f"The mascot of {n} is the {o['mascot']}.",
                f"Everyone at {n} knows the company mascot, the {o['mascot']}.",
            )
        ),
        r.choice(
            (f"{poss(n)} fiscal year starts in {o['fy_start']}.", f"The fiscal year at {n} begins in {o['fy_start']}.")
        ),
        r.choice(
            (
                f"The CEO of {n} is {o['ceo']}.",
                f"{n} is led by its CEO, {o['ceo']}.",
                f"{o['ceo']} is the chief executive of {n}.",
            )
        ),
        r.choice((f"{n} CEO emeritus is {o['ceo_emeritus']}.", f"{o['ceo_emeritus']} is the CEO emeritus of {n}.")),
        r.choice(
            (
                f"{n} office hours start at {o['office_open']} a.m.",
                f"{n} opens at {o['office_open']} a.m. and closes at {o['office_close'] - 12} p.m.",
            )
        ),
        r.choice((f"{n} IT support extension is {o['it_ext']}.", f"For IT help at {n}, dial extension {o['it_ext']}.")),
        r.choice(
            (
                f"{poss(n)} customer support email starts with {prefix}.",
                f"Customers can write to {n} at {o['support_email']}.",
            )
        ),
        r.choice(
            (
                f"{poss(n)} flagship product is called {o['flagship']}.",
                f"{o['flagship']}, {art(o['product_kind'])}, is the flagship product of {n}.",
            )
        ),
        r.choice(
            (
                f"{poss(n)} monthly all-hands is on the {o['allhands']}.",
                f"Every month, {n} holds an all-hands meeting on the {o['allhands']}.",
            )
        ),
        r.choice((f"{n} was founded in {o['founded']}.", f"{n} has about {o['employees']} employees.")),
    ]
    if o["parent"]:
        out.append(
            r.choice(
                (
                    f"{poss(n)} parent company is {o['parent']}.",
                    f"{n} is a subsidiary of {o['parent']}.",
                    f"{o['parent']} owns {n}.",
                )
            )
        )
    else:
        out.append(f"{n} is an independent company with no parent company.")
    return out


def org_doc(r: random.Random, orgs: list[dict[str, Any]]) -> str:
    o = r.choice(orgs)
    n = o["org"]
    kind = r.random()
    if kind < 0.5:
        sents = _org_sentences(r, o)
        return " ".join(r.sample(sents, r.randint(5, 9)))
    if kind < 0.7:
        qa = [
            (f"Where is {n} headquartered?", o["hq"]),
            (f"What is {poss(n)} mascot animal?", f"the {o['mascot']}"),
            (f"When does {poss(n)} fiscal year start?", o["fy_start"]),
            (f"Who is the CEO of {n}?", o["ceo"]),
            (f"What is the IT support extension at {n}?", o["it_ext"]),
            (f"What is {poss(n)} flagship product called?", o["flagship"]),
            (f"When is {poss(n)} monthly all-hands?", f"on the {o['allhands']}"),
            (f"What time do {n} office hours start?", f"{o['office_open']} a.m."),
            (f"What is {poss(n)} parent company?", o["parent"] or "none; it is independent"),
            (f"What is the customer support email of {n}?", o["support_email"]),
        ]
        return "\n".join(f"Q: {q}\nA: {a}" for q, a in r.sample(qa, r.randint(4, 7)))
    if kind < 0.85:
        lead = (
            f"{o['hq']}, {date(r, True)}: {n}"
            + (f", a subsidiary of {o['parent']}," if o["parent"] else "")
            + f" announced a new version of {o['flagship']}, its {o['product_kind']}."
        )
        said = quote(r.choice(_CEO_QUOTES), "said", f"{o['ceo']}, the CEO")
        return " ".join([lead, said, r.choice(_org_sentences(r, o))])
    sents = _org_sentences(r, o)
    return (
        f"Welcome to {n}! "
        + f"Office hours start at {o['office_open']} a.m. "
        + f"For IT help, dial extension {o['it_ext']}. "
        + r.choice(sents)
    )
