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
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from typing import Any

from engram_probe.data import synthetic_users as su

# ---------------------------------------------------------------------------------------------
# Shared word pools for the general-English grammar
# ---------------------------------------------------------------------------------------------

# fmt: off
NAMES = su.FIRST_NAMES
MONTHS: tuple[str, ...] = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)
MONTH_DAYS: tuple[int, ...] = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
SEASONS: tuple[str, ...] = ("spring", "summer", "autumn", "winter")
NUM_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)
PRONOUNS: tuple[tuple[str, str, str, str], ...] = (
    # subject, object, possessive, past of "to be"
    ("he", "him", "his", "was"),
    ("she", "her", "her", "was"),
    ("they", "them", "their", "were"),
)

PLACES: tuple[str, ...] = (
    "library", "bakery", "market", "harbor", "train station", "museum", "park", "garden", "school",
    "hospital", "post office", "bridge", "river", "beach", "forest", "village square", "bookshop",
    "cafe", "farm", "factory", "office", "stadium", "pharmacy", "hardware store", "laundromat",
    "bus stop", "playground", "lake", "hill", "orchard", "cinema", "theater", "swimming pool",
    "clinic", "restaurant", "hotel", "airport", "ferry terminal", "lighthouse", "castle", "workshop",
    "studio", "warehouse", "greenhouse", "courtyard", "parking lot", "zoo", "aquarium", "university",
    "town hall", "fire station", "barbershop", "bank", "gallery", "flower shop", "bicycle shop",
    "community center", "ice rink", "night market", "pier", "campsite", "vineyard", "tea house",
)
PLACE_ADJS: tuple[str, ...] = (
    "quiet", "busy", "crowded", "empty", "old", "new", "narrow", "wide", "bright", "dark", "warm",
    "cold", "clean", "dusty", "noisy", "peaceful", "modern", "tiny", "huge", "cozy", "damp", "sunny",
    "shady", "colorful", "famous", "hidden", "tidy", "messy", "charming", "drafty", "spacious",
    "cheerful", "gloomy", "elegant", "simple", "lively", "calm", "friendly", "strange", "historic",
)
PLACE_FEATURES: tuple[str, ...] = (
    "wooden benches", "tall windows", "stone steps", "green doors", "brick walls", "hanging plants",
    "long tables", "old maps", "painted ceilings", "small fountains", "glass cases", "iron gates",
    "red awnings", "narrow staircases", "bright murals", "potted lemon trees", "creaky floors",
    "round lamps", "bike racks", "tiled floors",
)
OBJECTS: tuple[str, ...] = (
    "umbrella", "notebook", "lamp", "basket", "bicycle", "kettle", "blanket", "map", "key", "ladder",
    "bucket", "hammer", "clock", "mirror", "suitcase", "backpack", "envelope", "candle", "jar",
    "bottle", "shovel", "rope", "scarf", "glove", "hat", "pencil", "camera", "radio", "chair",
    "table", "shelf", "box", "coat", "boot", "plate", "cup", "bowl", "spoon", "pan", "pot", "towel",
    "pillow", "rug", "curtain", "ticket", "letter", "parcel", "laptop", "printer", "stapler",
    "folder", "brush", "wallet", "ring", "watch", "kite", "drum", "guitar", "violin", "sketchbook",
    "helmet", "tent", "lantern", "compass", "fishing rod", "toolbox", "flashlight", "teapot",
    "wheelbarrow", "doormat", "paintbrush", "thermos", "calendar", "postcard", "sweater",
)
SURFACES: tuple[str, ...] = (
    "kitchen table", "windowsill", "top shelf", "back seat", "front porch", "desk", "bench",
    "counter", "bookcase", "floor", "bed", "workbench", "piano", "stairs", "doorstep",
)
FOODS: tuple[str, ...] = (
    "apples", "rolls", "cheese sandwiches", "bowls of soup", "cartons of rice", "packets of noodles",
    "cans of beans", "carrots", "potatoes", "tomatoes", "onions", "lemons", "oranges", "pears",
    "plums", "bunches of grapes", "cherries", "strawberries", "peaches", "mangoes", "bananas", "eggs",
    "jars of honey", "jars of jam", "cups of yogurt", "cookies", "muffins", "pancakes", "waffles",
    "salads", "pizzas", "cucumbers", "peppers", "mushrooms", "heads of garlic", "pieces of ginger",
    "bags of oats", "sandwiches", "dumplings", "tortillas", "bags of lentils", "pumpkins",
    "loaves of bread", "bottles of juice", "cartons of milk", "bags of flour", "cinnamon buns",
    "pies", "melons", "avocados", "limes", "radishes", "beets", "leeks", "zucchinis",
)
SMELLS: tuple[str, ...] = (
    "fresh bread", "coffee", "rain", "pine needles", "old books", "cut grass", "sea salt", "cinnamon",
    "paint", "wood smoke", "oranges", "soap", "roses", "hot soup", "machine oil",
)
FEELINGS: tuple[str, ...] = (
    "happy", "tired", "excited", "worried", "surprised", "calm", "proud", "hungry", "curious", "bored",
    "grateful", "nervous", "relieved", "cheerful", "sleepy", "confused", "hopeful", "lonely",
)
ADVERBS: tuple[str, ...] = (
    "quickly", "slowly", "carefully", "quietly", "happily", "loudly", "patiently", "gently",
    "suddenly", "finally", "nervously", "proudly", "calmly", "eagerly", "politely", "briskly",
)
# (base, past, third person singular) of verbs that take a physical object.
OBJECT_VERBS: tuple[tuple[str, str, str], ...] = (
    ("carry", "carried", "carries"), ("clean", "cleaned", "cleans"), ("fix", "fixed", "fixes"),
    ("paint", "painted", "paints"), ("find", "found", "finds"), ("buy", "bought", "buys"),
    ("borrow", "borrowed", "borrows"), ("return", "returned", "returns"), ("drop", "dropped", "drops"),
    ("pack", "packed", "packs"), ("open", "opened", "opens"), ("wrap", "wrapped", "wraps"),
    ("move", "moved", "moves"), ("hide", "hid", "hides"), ("check", "checked", "checks"),
    ("repair", "repaired", "repairs"), ("polish", "polished", "polishes"), ("lift", "lifted", "lifts"),
    ("fold", "folded", "folds"), ("hang", "hung", "hangs"), ("bring", "brought", "brings"),
    ("sell", "sold", "sells"), ("measure", "measured", "measures"), ("label", "labeled", "labels"),
    ("dust", "dusted", "dusts"), ("sketch", "sketched", "sketches"), ("weigh", "weighed", "weighs"),
)
INTRANSITIVE_VERBS: tuple[tuple[str, str, str], ...] = (
    ("walk", "walked", "walks"), ("run", "ran", "runs"), ("smile", "smiled", "smiles"),
    ("laugh", "laughed", "laughs"), ("wait", "waited", "waits"), ("sing", "sang", "sings"),
    ("dance", "danced", "dances"), ("rest", "rested", "rests"), ("swim", "swam", "swims"),
    ("read", "read", "reads"), ("whistle", "whistled", "whistles"), ("hurry", "hurried", "hurries"),
    ("listen", "listened", "listens"), ("cook", "cooked", "cooks"), ("paint", "painted", "paints"),
    ("write", "wrote", "writes"), ("stretch", "stretched", "stretches"), ("nap", "napped", "naps"),
)
TOPICS: tuple[str, ...] = (
    "the weather", "an old movie", "the price of bread", "a new recipe", "the football match",
    "their holiday plans", "a book about whales", "the school play", "the garden", "the broken fence",
    "a trip to the mountains", "the best way to cook rice", "the town festival", "the night sky",
    "a funny dream", "the history of the bridge", "the new bus route", "a song from the radio",
    "the neighbor's dog", "the election", "the cost of train tickets", "the harvest",
)
WEATHER_CONDITIONS: tuple[str, ...] = (
    "sunny", "cloudy", "rainy", "windy", "foggy", "snowy", "stormy", "humid", "chilly", "mild",
    "overcast", "drizzly", "frosty", "breezy", "clear",
)
DIRECTIONS: tuple[str, ...] = ("north", "south", "east", "west", "northwest", "southeast", "northeast", "southwest")
STREETS: tuple[str, ...] = (
    "Elm", "Maple", "Mill", "Church", "River", "Station", "Bridge", "Market", "Hill", "Garden", "Lake",
    "Harbor", "Orchard", "Chestnut", "Willow", "Spring", "Quarry", "Meadow", "Castle", "Oak",
)
TRANSPORT: tuple[str, ...] = ("train", "bus", "ferry", "coach", "tram", "night train", "flight")
FRUIT_COLORS: tuple[tuple[str, str], ...] = (
    ("banana", "yellow"), ("lime", "green"), ("cherry", "red"), ("plum", "purple"), ("orange", "orange"),
    ("lemon", "yellow"), ("blueberry", "blue"), ("strawberry", "red"), ("kiwi", "brown outside and green inside"),
    ("grape", "green or purple"), ("pumpkin", "orange"), ("aubergine", "dark purple"), ("carrot", "orange"),
    ("cucumber", "green"), ("tomato", "red"), ("coconut", "brown"), ("raspberry", "red"), ("pear", "green"),
)
OPPOSITES: tuple[tuple[str, str], ...] = (
    ("hot", "cold"), ("big", "small"), ("early", "late"), ("open", "closed"), ("full", "empty"),
    ("light", "dark"), ("fast", "slow"), ("high", "low"), ("wet", "dry"), ("loud", "quiet"),
    ("old", "new"), ("heavy", "light"), ("hard", "soft"), ("long", "short"), ("rich", "poor"),
    ("sweet", "sour"), ("thick", "thin"), ("near", "far"), ("clean", "dirty"), ("brave", "afraid"),
)
WORK_OBJECTS: tuple[str, ...] = (
    "report", "schedule", "budget", "invoice", "spreadsheet", "presentation", "order", "shipment",
    "contract", "design", "draft", "survey", "inventory", "proposal", "timetable", "press release",
    "safety checklist", "training plan", "floor plan", "grant application",
)
WORK_ROOMS: tuple[str, ...] = (
    "meeting room", "break room", "lobby", "back office", "workshop", "conference room", "lab",
    "loading dock", "studio", "front desk",
)

# (singular, plural, habitat, diet, trait, size rank 0..9)
ANIMALS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("fox", "foxes", "forests and fields", "mice, berries and insects", "hunt mostly at dusk", 3),
    ("owl", "owls", "old trees and barns", "mice and voles", "can turn their heads a long way around", 2),
    ("deer", "deer", "woodlands and meadows", "grass, leaves and acorns", "can run fast through thick woods", 5),
    ("rabbit", "rabbits", "burrows under meadows", "grass and clover",
     "thump the ground with their back feet to warn each other", 2),
    ("squirrel", "squirrels", "parks and forests", "nuts and seeds", "bury food to eat in winter", 1),
    ("hedgehog", "hedgehogs", "hedges and gardens", "beetles, worms and slugs",
     "roll into a spiky ball when they are scared", 1),
    ("badger", "badgers", "underground burrows", "worms and roots", "dig long tunnels with their strong claws", 3),
    ("otter", "otters", "rivers and coasts", "fish and crabs", "float on their backs while they eat", 3),
    ("beaver", "beavers", "ponds and streams", "bark and twigs", "build dams out of branches and mud", 3),
    ("heron", "herons", "marshes and riverbanks", "fish and frogs", "stand perfectly still while they wait", 3),
    ("crow", "crows", "towns and farmland", "seeds, insects and scraps", "can remember human faces", 2),
    ("sparrow", "sparrows", "hedges and rooftops", "seeds and small insects", "often bathe in dust", 1),
    ("eagle", "eagles", "cliffs and mountains", "fish and small animals", "can spot prey from far above", 3),
    ("frog", "frogs", "ponds and wet meadows", "flies and other insects", "breathe partly through their skin", 1),
    ("turtle", "turtles", "lakes and slow rivers", "plants, snails and worms", "can live for many decades", 2),
    ("salmon", "salmon", "the sea and cold rivers", "small fish and shrimp", "swim upstream to lay their eggs", 2),
    ("whale", "whales", "the open ocean", "krill and small fish", "sing long songs under water", 9),
    ("dolphin", "dolphins", "warm seas", "fish and squid", "rest one half of the brain at a time", 5),
    ("seal", "seals", "rocky shores", "fish", "can hold their breath for a long time", 5),
    ("penguin", "penguins", "cold southern coasts", "fish and krill", "cannot fly but swim very well", 3),
    ("camel", "camels", "deserts", "dry plants and thorny shrubs", "can go many days without drinking", 7),
    ("goat", "goats", "hills and farms", "grass and leaves", "are excellent climbers", 4),
    ("sheep", "sheep", "farms and hillsides", "grass", "stay close together in flocks", 4),
    ("cow", "cows", "farms and pastures", "grass and hay", "spend many hours a day chewing", 6),
    ("horse", "horses", "farms and open plains", "grass, hay and oats", "can sleep standing up", 6),
    ("duck", "ducks", "ponds and rivers", "plants, seeds and insects", "have waterproof feathers", 2),
    ("goose", "geese", "lakes and fields", "grass and grain", "fly south in long V-shaped lines", 3),
    ("chicken", "chickens", "farms and backyards", "grain, seeds and insects", "scratch the ground for food", 2),
    ("bee", "bees", "hives and gardens", "nectar and pollen", "dance to show each other where flowers are", 0),
    ("ant", "ants", "nests in the soil", "seeds, sugar and small insects", "can carry many times their weight", 0),
    ("butterfly", "butterflies", "gardens and meadows", "nectar from flowers", "taste with their feet", 0),
    ("bat", "bats", "caves and attics", "insects and fruit", "find their way in the dark by listening to echoes", 1),
    ("wolf", "wolves", "forests and tundra", "deer and other animals", "live and hunt in packs", 5),
    ("bear", "bears", "mountains and forests", "berries, fish and roots", "sleep through much of the winter", 7),
    ("moose", "moose", "northern forests and lakes", "water plants and twigs", "are strong swimmers", 7),
    ("elephant", "elephants", "savannas and forests", "grass, leaves and fruit",
     "use their trunks to drink, smell and lift", 9),
    ("giraffe", "giraffes", "savannas", "leaves from tall trees", "have very long tongues", 8),
    ("zebra", "zebras", "grasslands", "grass", "each have a unique pattern of stripes", 6),
    ("lion", "lions", "grasslands", "zebras and antelopes", "rest for most of the day", 6),
    ("tiger", "tigers", "jungles and forests", "deer and wild pigs", "like to swim", 6),
    ("monkey", "monkeys", "tropical forests", "fruit, leaves and insects", "use their tails to hold on to branches", 3),
    ("parrot", "parrots", "tropical forests", "seeds, nuts and fruit", "can copy sounds they hear", 2),
    ("crab", "crabs", "beaches and rock pools", "algae and small animals", "walk sideways", 1),
    ("octopus", "octopuses", "the sea floor", "crabs and clams", "can change color in an instant", 3),
    ("snail", "snails", "damp gardens", "leaves and soft plants", "carry their shells everywhere", 0),
    ("lizard", "lizards", "warm rocks and deserts", "insects", "warm themselves in the sun", 1),
    ("swan", "swans", "lakes and rivers", "water plants", "often keep the same partner for life", 4),
    ("mole", "moles", "tunnels under lawns", "earthworms", "can barely see", 1),
    ("hummingbird", "hummingbirds", "gardens and forests", "nectar", "can fly backwards", 0),
    ("kangaroo", "kangaroos", "Australian grasslands", "grass and leaves", "carry their young in a pouch", 5),
)
ANIMAL_SOUNDS: dict[str, str] = {
    "owl": "hoots", "duck": "quacks", "cow": "moos", "sheep": "bleats", "horse": "neighs", "wolf": "howls",
    "lion": "roars", "frog": "croaks", "bee": "buzzes", "crow": "caws", "goose": "honks", "goat": "bleats",
    "chicken": "clucks", "dolphin": "clicks", "parrot": "squawks", "bear": "growls",
}

STORY_ANIMALS: tuple[str, ...] = (
    "fox", "deer", "rabbit", "squirrel", "hedgehog", "badger", "crow", "sparrow", "duck", "goose", "chicken",
    "goat", "sheep", "frog", "heron", "owl", "stray cat", "small dog", "pigeon", "lizard",
)
_DEPARTURE_POINT: dict[str, str] = {
    "train": "leaves from platform", "night train": "leaves from platform", "tram": "stops at platform",
    "bus": "leaves from bay", "coach": "leaves from bay", "ferry": "departs from pier", "flight": "boards at gate",
}

# (dish, ingredients, style)
RECIPES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("tomato soup", ("tomatoes", "onion", "garlic", "vegetable stock"), "soup"),
    ("lentil soup", ("red lentils", "carrots", "onion", "cumin"), "soup"),
    ("pumpkin soup", ("pumpkin", "onion", "ginger", "vegetable stock"), "soup"),
    ("leek and potato soup", ("leeks", "potatoes", "butter", "chicken stock"), "soup"),
    ("pancakes", ("flour", "milk", "eggs", "butter"), "batter"),
    ("banana bread", ("ripe bananas", "flour", "brown sugar", "eggs"), "bake"),
    ("oat cookies", ("oats", "flour", "butter", "raisins"), "bake"),
    ("apple crumble", ("apples", "flour", "butter", "cinnamon"), "bake"),
    ("corn muffins", ("cornmeal", "flour", "milk", "eggs"), "bake"),
    ("vegetable stir-fry", ("peppers", "broccoli", "mushrooms", "soy sauce"), "stirfry"),
    ("fried rice", ("cooked rice", "peas", "eggs", "spring onions"), "stirfry"),
    ("garlic noodles", ("noodles", "garlic", "butter", "parsley"), "stirfry"),
    ("potato salad", ("potatoes", "celery", "mayonnaise", "chives"), "salad"),
    ("cucumber salad", ("cucumbers", "red onion", "vinegar", "dill"), "salad"),
    ("bean salad", ("white beans", "tomatoes", "parsley", "lemon juice"), "salad"),
    ("fruit smoothie", ("bananas", "strawberries", "yogurt", "orange juice"), "drink"),
    ("hot chocolate", ("milk", "cocoa powder", "sugar", "vanilla"), "drink"),
    ("iced mint tea", ("black tea", "fresh mint", "honey", "lemon slices"), "drink"),
)

TASKS: tuple[str, ...] = (
    "repot a houseplant", "fix a flat bicycle tire", "clean a window without streaks",
    "plant tomato seedlings", "pack a small suitcase", "brew a good pot of tea", "hang a picture frame",
    "prepare for a job interview", "save a little money every month", "wash a wool sweater",
    "start a vegetable compost", "paint a wooden fence",
)

# ---------------------------------------------------------------------------------------------
# Organisations
# ---------------------------------------------------------------------------------------------

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
_OBJECT_STATES = ("was missing", "was broken", "looked brand new", "was much heavier than expected",
                  "had been painted blue")
_PLACE_PURPOSES = ("read", "meet friends", "buy groceries", "work", "rest", "sketch", "talk", "drink coffee")
_PLACE_OPINIONS = ("haunted", "the oldest in the region", "too crowded", "a hidden gem", "best in the rain")
_PLACE_VERDICTS = ("Yes, especially on a weekday.", "Certainly, if you like quiet places.",
                   "Only if you have time.", "Most visitors think so.")
_JOB_HARD_PARTS = ("the paperwork", "the early mornings", "talking to angry customers", "the long meetings",
                   "keeping track of every detail")
_JOB_GOOD_PARTS = ("helping people", "solving puzzles", "working with a kind team", "seeing a project finished",
                   "learning something new every week")
_PUNCTUALITY = ("Mostly, yes.", "Not always.", "Almost never in winter.", "Yes, about nine times out of ten.")
_ATMOSPHERES = ("quiet", "calm", "peaceful", "bright", "cool", "lively", "empty", "busy", "magical")
_CEO_QUOTES = ("We are proud of the team.", "Our customers asked for this.", "This is only the beginning.",
               "It was a long road.")
# fmt: on

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_art = su.with_article


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join_and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def _count(r: random.Random, lo: int, hi: int) -> tuple[int, str]:
    """A small count as (value, text); text is a word or digits."""
    n = r.randint(lo, hi)
    return n, (NUM_WORDS[n] if n <= 20 and r.random() < 0.6 else str(n))


def _clock(r: random.Random, lo: int = 6, hi: int = 21) -> str:
    hour = r.randint(lo, hi)
    minute = r.choice((0, 0, 0, 15, 30, 30, 45, 10, 20, 40, 50, 5))
    if r.random() < 0.5:
        return f"{hour:02d}:{minute:02d}"
    suffix = "a.m." if hour < 12 else "p.m."
    h12 = hour % 12 or 12
    return f"{h12}:{minute:02d} {suffix}" if minute else f"{h12} {suffix}"


def _fmt_minutes(total: int) -> str:
    total %= 24 * 60
    return f"{total // 60:02d}:{total % 60:02d}"


def _money(cents: int) -> str:
    return f"${cents // 100}" if cents % 100 == 0 else f"${cents // 100}.{cents % 100:02d}"


def _price_cents(r: random.Random, lo: int, hi: int) -> int:
    return r.randint(lo, hi) * 100 + r.choice((0, 0, 25, 50, 75, 99, 49, 95, 10))


def _date(r: random.Random, with_year: bool | None = None) -> str:
    m = r.randrange(12)
    d = r.randint(1, MONTH_DAYS[m])
    style = r.random()
    if with_year is None:
        with_year = r.random() < 0.35
    year = r.randint(2018, 2026)
    if style < 0.5:
        return f"{MONTHS[m]} {d}, {year}" if with_year else f"{MONTHS[m]} {d}"
    if style < 0.8:
        return f"{d} {MONTHS[m]} {year}" if with_year else f"{d} {MONTHS[m]}"
    return f"{year}-{m + 1:02d}-{d:02d}"


def _quote(text: str, verb: str, who: str) -> str:
    """Direct speech: '"Text," said Name.' (a final period inside the quote becomes a comma)."""
    if text.endswith("."):
        text = text[:-1] + ","
    return f'"{text}" {verb} {who}.'


def _poss(name: str) -> str:
    """Possessive form: "Arden Labs'" / "Kelso Group's"."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _city(r: random.Random) -> str:
    return r.choice(su.CITIES)[0]


def _person(r: random.Random) -> tuple[str, tuple[str, str, str, str]]:
    return r.choice(NAMES), r.choice(PRONOUNS)


def _time_phrase(r: random.Random) -> str:
    return r.choice(
        (
            "early in the morning",
            "after lunch",
            "before dinner",
            "late at night",
            "at noon",
            f"on {r.choice(su.WEEKDAYS)}",
            f"at {_clock(r)}",
            f"in {r.choice(MONTHS)}",
            f"last {r.choice(su.WEEKDAYS)}",
            "the next morning",
            f"around {_clock(r)}",
            "just after sunrise",
            "in the middle of the afternoon",
            f"one {r.choice(SEASONS)} evening",
            "on a rainy afternoon",
            f"on {_date(r, False)}",
        )
    )


# ---------------------------------------------------------------------------------------------
# General English generators
# ---------------------------------------------------------------------------------------------


def _gen_story(r: random.Random) -> str:
    n1, (p, _o, poss, was) = _person(r)
    n2 = r.choice(NAMES)
    place, place2 = r.sample(PLACES, 2)
    obj, obj2 = r.sample(OBJECTS, 2)
    animal = r.choice(STORY_ANIMALS)
    opening = r.choice(
        (
            f"{_cap(_time_phrase(r))}, {n1} walked to the {place} to {r.choice(('buy', 'look for', 'return'))} "
            f"{_art(obj)}.",
            f"{n1} woke up early on {r.choice(su.WEEKDAYS)} and decided to visit the {place}.",
            f"It was {_art(r.choice(WEATHER_CONDITIONS))} {r.choice(('morning', 'afternoon', 'evening'))} in "
            f"{_city(r)} when {n1} left the house.",
            f"Last {r.choice(SEASONS)}, {n1} spent a week near the {place}.",
            f"{n1} had promised to meet {n2} at the {place} at {_clock(r)}.",
            f"Nobody expected {n1} to arrive at the {place} so {r.choice(('early', 'late', 'soon'))}.",
            f"On {_date(r)}, {n1} finally opened the {r.choice(PLACE_ADJS)} {obj} that had been on the "
            f"{r.choice(SURFACES)} for weeks.",
        )
    )
    middle_pool = [
        lambda: f"{_cap(p)} {r.choice(OBJECT_VERBS)[1]} the {obj} and put it on the {r.choice(SURFACES)}.",
        lambda: f"On the way, {p} saw {_art(animal)} near the {place2}.",
        lambda: (
            f"The {place} was {r.choice(PLACE_ADJS)} and {r.choice(PLACE_ADJS)}, and it smelled of {r.choice(SMELLS)}."
        ),
        lambda: f"{_cap(p)} bought {_count(r, 2, 12)[1]} {r.choice(FOODS)} for {_money(_price_cents(r, 2, 30))}.",
        lambda: (
            f"{n2} arrived {r.choice(('late', 'a little early', 'out of breath', 'with a big smile'))} and "
            f"{r.choice(('apologized', 'waved', 'laughed', 'sat down'))}."
        ),
        lambda: _quote(
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
        lambda: f"They talked about {r.choice(TOPICS)} for {_count(r, 5, 50)[1]} minutes.",
        lambda: f"{_cap(p)} felt {r.choice(FEELINGS)} because the {obj2} {r.choice(_OBJECT_STATES)}.",
        lambda: f"Suddenly, {_art(animal)} ran across the path and disappeared behind the {place2}.",
        lambda: (
            f"{n2} {r.choice(INTRANSITIVE_VERBS)[1]} {r.choice(ADVERBS)} while {p} {r.choice(INTRANSITIVE_VERBS)[1]}."
        ),
        lambda: (
            f"The {obj2} cost {_money(_price_cents(r, 3, 80))}, which seemed "
            f"{r.choice(('fair', 'too much', 'cheap', 'reasonable'))}."
        ),
        lambda: f"Then {p} {r.choice(OBJECT_VERBS)[1]} {_art(obj2)} for {n2}.",
        lambda: f"It started to {r.choice(('rain', 'snow', 'drizzle'))}, so they took shelter near the {place2}.",
        lambda: (
            f"{_cap(poss)} {r.choice(('sister', 'brother', 'friend', 'neighbor', 'cousin', 'aunt', 'uncle'))} "
            f"called to ask about {r.choice(TOPICS)}."
        ),
    ]
    middle = [f() for f in r.sample(middle_pool, r.randint(4, 7))]
    closing = r.choice(
        (
            f"By {_clock(r, 17, 22)}, {n1} was back home and {r.choice(FEELINGS)}.",
            f"It had been {_art(r.choice(('long', 'strange', 'wonderful', 'busy', 'quiet', 'lucky')))} day.",
            f"{n1} decided to come back next {r.choice(su.WEEKDAYS)}.",
            f"That night, {p} wrote about it in {poss} notebook.",
            f"Later, {n1} told {n2} the whole story, and they both laughed.",
            "",
        )
    )
    return " ".join(s for s in [opening, *middle, closing] if s)


def _gen_place(r: random.Random) -> str:
    place = r.choice(PLACES)
    city = _city(r)
    adj1, adj2 = r.sample(PLACE_ADJS, 2)
    f1, f2 = r.sample(PLACE_FEATURES, 2)
    sentences = [
        r.choice(
            (
                f"The {place} on {r.choice(STREETS)} Street in {city} is {adj1} and {adj2}.",
                f"In the center of {city} there is {_art(adj1)} {place}.",
                f"Visitors to {city} often stop at the {adj1} {place} near {r.choice(STREETS)} Road.",
            )
        ),
        r.choice(
            (
                f"It has {_count(r, 2, 14)[1]} {f1} and {r.choice(('a few', 'several', 'many', 'some'))} {f2}.",
                f"Inside, you will find {f1}, {f2} and {_art(r.choice(PLACE_ADJS))} {r.choice(OBJECTS)} by the door.",
                f"The building was finished in {r.randint(1850, 2022)} and still has its {f1}.",
            )
        ),
    ]
    extras = [
        f"Most mornings, people come here to {r.choice(_PLACE_PURPOSES)}.",
        f"In {r.choice(SEASONS)}, the {r.choice(('trees', 'gardens', 'streets', 'windows', 'hills'))} nearby look "
        f"{r.choice(('golden', 'bright green', 'white', 'pink', 'gray', 'red and orange'))}.",
        f"The best time to visit is {_time_phrase(r)}, when it is {r.choice(_ATMOSPHERES)}.",
        f"Nearby there is {_art(r.choice(PLACES))} and {_art(r.choice(PLACES))}.",
        f"Entry costs {_money(_price_cents(r, 2, 25))} for adults, and children under {r.randint(5, 16)} go in free.",
        f"It opens at {_clock(r, 6, 10)} and closes at {_clock(r, 16, 23)}.",
        f"Some people say the {place} is {r.choice(_PLACE_OPINIONS)}.",
        f"From the top floor you can see the {r.choice(('river', 'harbor', 'mountains', 'old town', 'sea'))}.",
        f"Is it worth a visit? {r.choice(_PLACE_VERDICTS)}",
    ]
    sentences += r.sample(extras, r.randint(4, 7))
    return " ".join(sentences)


def _gen_weather(r: random.Random) -> str:
    city = _city(r)
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
            f"Weather for {city} on {r.choice(su.WEEKDAYS)}, {_date(r, False)}:",
            f"{_cap(c1)} in the morning, becoming {c2} by the afternoon.",
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
                f"Yesterday in {city} it was {c1} and {c2}.",
                f"The weather in {city} this week has been mostly {c1}.",
                f"It is {c1} in {city} today, and the sky is {r.choice(('gray', 'pale blue', 'white', 'dark'))}.",
            )
        ),
        f"At {_clock(r)} the thermometer showed {r.randint(lo_t, hi_t)} {unit}.",
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
            f"By {_clock(r, 12, 18)} the {r.choice(('wind', 'rain', 'fog', 'snow', 'heat'))} had "
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


def _gen_animals(r: random.Random) -> str:
    text = _animal_paragraph(r, r.choice(ANIMALS))
    if r.random() < 0.6:
        text += " " + _animal_paragraph(r, r.choice(ANIMALS))
    return text


def _animal_paragraph(r: random.Random, a: tuple[str, str, str, str, str, int]) -> str:
    sg, pl, habitat, diet, trait, size = a
    sentences = [
        r.choice(
            (
                f"{_cap(pl)} live in {habitat} and eat {diet}.",
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
                    f"{_cap(_art(bigger[0]))} is bigger than {_art(smaller[0])}.",
                    f"{_cap(_art(smaller[0]))} is smaller than {_art(bigger[0])}.",
                    f"Which is larger, {_art(a[0])} or {_art(b[0])}? {_cap(_art(bigger[0]))} is larger.",
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


def _gen_howto(r: random.Random) -> str:
    if r.random() < 0.55:
        dish, ing, style = r.choice(RECIPES)
        steps = _recipe_steps(r, dish, ing, style)
        title = r.choice((f"How to make {dish}", f"Recipe: {dish}", f"Easy {dish} for {r.randint(2, 6)} people"))
        intro = f"You will need {_join_and(ing)}."
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


def _gen_work(r: random.Random) -> str:
    name, (p, _o, poss, was) = _person(r)
    job = r.choice(su.JOBS)
    employer = r.choice(su.EMPLOYERS)
    wo1, wo2 = r.sample(WORK_OBJECTS, 2)
    start = r.randint(7 * 60, 10 * 60 + 30) // 15 * 15
    meeting = start + r.choice((60, 90, 120, 150, 180))
    length = r.choice((15, 30, 45, 60, 90))
    sentences = [
        r.choice(
            (
                f"{name} is {_art(job)} at {employer} and usually starts work at {_fmt_minutes(start)}.",
                f"At {employer}, the day for {name}, {_art(job)}, begins at {_fmt_minutes(start)}.",
                f"{name} has worked as {_art(job)} for {_count(r, 2, 25)[1]} years.",
            )
        ),
        f"First, {p} {r.choice(_WORK_VERBS)[1 if p == 'they' else 0]} the {wo1}.",
        f"The team meets in the {r.choice(WORK_ROOMS)} at {_fmt_minutes(meeting)} for {length} minutes, so the "
        f"meeting ends at {_fmt_minutes(meeting + length)}.",
    ]
    extras = [
        f"Today there are {_count(r, 3, 40)[1]} emails waiting about the {wo2}.",
        f"{_cap(poss)} manager, {r.choice(NAMES)}, wants the {wo2} by {r.choice(su.WEEKDAYS)}.",
        f"Lunch is usually {r.choice(('soup', 'a sandwich', 'leftover pasta', 'a salad', 'rice and beans'))} "
        f"in the {r.choice(WORK_ROOMS)}.",
        f"The hardest part of the job is {r.choice(_JOB_HARD_PARTS)}.",
        f"The best part is {r.choice(_JOB_GOOD_PARTS)}.",
        f"By {_clock(r, 15, 19)}, {p} {'have' if p == 'they' else 'has'} finished the {wo1} and gone home.",
        f"Next month, {employer} will move to a new office on {r.choice(STREETS)} Street.",
    ]
    sentences += r.sample(extras, r.randint(3, 6))
    return " ".join(sentences)


def _gen_travel(r: random.Random) -> str:
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
    price = _price_cents(r, 9, 180)
    sentences = [
        r.choice(
            (
                f"The {mode} from {c1} to {c2} leaves at {_fmt_minutes(dep)} and takes {dur_text}, "
                f"arriving at {_fmt_minutes(dep + dur)}.",
                f"{r.choice(NAMES)} took the {_fmt_minutes(dep)} {mode} from {c1} and reached {c2} {dur_text} later.",
                f"Travel note: {c1} to {c2} by {mode}, {dur_text}.",
            )
        ),
        f"A one-way ticket costs {_money(price)}, and a return ticket costs {_money(price * 2 - price // 10)}.",
    ]
    extras = [
        f"The {mode} {_DEPARTURE_POINT[mode]} {r.randint(1, 24)}.",
        f"Bring {r.choice(('a book', 'snacks', 'a warm jacket', 'your passport', 'headphones'))} for the trip.",
        f"In {c2}, visitors like the {r.choice(PLACE_ADJS)} {r.choice(PLACES)} and the {r.choice(PLACES)}.",
        f"On {r.choice(su.WEEKDAYS)}s there is {r.choice(('one extra', 'no', 'a later', 'an earlier'))} service.",
        f"Packing list: {_join_and(r.sample(OBJECTS, r.randint(3, 5)))}.",
        f"Is the {mode} usually on time? {r.choice(_PUNCTUALITY)}",
    ]
    sentences += r.sample(extras, r.randint(3, 6))
    return " ".join(sentences)


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
        each = _price_cents(r, 1, 6)
        n = r.randint(2, 9)
        return [
            (a, f"How much are the {food}?"),
            (b, f"{_money(each)} each."),
            (a, f"Then I will take {NUM_WORDS[n]}. That makes {_money(each * n)}, right?"),
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
        clock = _clock(r, 9, 20)
        place = r.choice(PLACES)
        return [
            (a, f"Are you free on {day}?"),
            (b, f"Only after {clock}. Why?"),
            (a, f"I wanted to go to the {place} together."),
            (b, f"Sounds good. Let us meet there at {clock}."),
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
        (a, f"Should I take {_art(r.choice(('umbrella', 'jacket', 'hat', 'scarf')))}?"),
        (b, r.choice(("Yes, just in case.", "No, you will be fine.", "Definitely."))),
    ]


def _gen_dialogue(r: random.Random) -> str:
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
        out.append(_quote(text, verb, who))
    return " ".join(out)


def _gen_list(r: random.Random) -> str:
    kind = r.randrange(4)
    if kind == 0:
        items = r.sample(FOODS, r.randint(5, 9))
        lines = [f"- {r.randint(1, 6)} {it}" for it in items]
        tail = r.choice(
            (
                "",
                f"Ask {r.choice(NAMES)} if we still need {r.choice(FOODS)}.",
                f"The market closes at {_clock(r, 17, 21)}.",
                f"Budget: {_money(_price_cents(r, 20, 90))}.",
            )
        )
        return f"Shopping list for {r.choice(su.WEEKDAYS)}:\n" + "\n".join(lines) + (f"\n{tail}" if tail else "")
    if kind == 1:
        items = r.sample(OBJECTS, r.randint(5, 10))
        city = _city(r)
        head = f"Things to pack for {city}:" if r.random() < 0.5 else "Packing list:"
        note = r.choice(
            (
                f"The trip to {city} is {r.randint(2, 14)} days long.",
                f"The forecast for {city} says it will be {r.choice(WEATHER_CONDITIONS)}.",
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
            f"meet {r.choice(NAMES)} at {_clock(r, 9, 20)}",
            "renew the library books",
        ]
        picked = r.sample(chores, r.randint(4, 8))
        return f"To do on {r.choice(su.WEEKDAYS)}:\n" + "\n".join(f"{i}. {c}" for i, c in enumerate(picked, 1))
    items = [(r.choice(FOODS), _price_cents(r, 1, 9)) for _ in range(r.randint(4, 8))]
    total = sum(c for _, c in items)
    lines = [f"{name}: {_money(c)}" for name, c in items]
    shop = f"{r.choice(STREETS)} Street {r.choice(('Market', 'Grocery', 'Deli', 'Corner Shop', 'Bakery'))}"
    paid = r.choice(
        ("Paid by card.", "Paid in cash.", f"Paid {_money(total + r.randint(1, 20) * 100 - total % 100)} in cash.")
    )
    return f"Receipt from {shop}, {_date(r, True)}\n" + "\n".join(lines) + f"\nTotal: {_money(total)}\n{paid}"


def _number_item(r: random.Random) -> str:
    kind = r.randrange(7)
    name, (p, _o, _poss, _was) = _person(r)
    has = "have" if p == "they" else "has"
    if kind == 0:
        a, b = r.randint(2, 30), r.randint(2, 30)
        thing = r.choice(FOODS)
        verb = r.choice((("buys", "buy"), ("gets", "get"), ("finds", "find")))[1 if p == "they" else 0]
        return f"{name} has {a} {thing}. {_cap(p)} {verb} {b} more. Now {p} {has} {a + b} {thing}."
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
            f"{_fmt_minutes(start)} and lasts {length} minutes, so it ends at {_fmt_minutes(start + length)}."
        )
    if kind == 3:
        price = _price_cents(r, 8, 200)
        pct = r.choice((10, 20, 25, 50))
        new = price - price * pct // 100
        return (
            f"The {r.choice(OBJECTS)} costs {_money(price)}. With a {pct} percent discount, it costs "
            f"{_money(new)}, which saves {_money(price - new)}."
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


def _gen_numbers(r: random.Random) -> str:
    items = [_number_item(r) for _ in range(r.randint(3, 7))]
    return ("\n" if r.random() < 0.3 else " ").join(items)


def _gen_world_qa(r: random.Random) -> str:
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
            pairs.append((f"What do {a[1]} eat?", f"{_cap(a[1])} eat {a[3]}."))
        elif kind == 3:
            h = r.randint(1, 12)
            pairs.append(
                (f"How many minutes are in {NUM_WORDS[h]} hour{'s' if h > 1 else ''}?", f"There are {60 * h} minutes.")
            )
        else:
            s = r.randrange(4)
            pairs.append((f"Which season comes after {SEASONS[s]}?", f"{_cap(SEASONS[(s + 1) % 4])} comes next."))
    if r.random() < 0.5:
        return "\n".join(f"Q: {q}\nA: {a}" for q, a in pairs)
    return " ".join(f"{q} {a}" for q, a in pairs)


def _gen_letter(r: random.Random) -> str:
    to, frm = r.sample(NAMES, 2)
    greeting = r.choice(("Dear", "Hi", "Hello"))
    body = r.sample(
        [
            f"Thank you for the {r.choice(OBJECTS)}; it arrived on {r.choice(su.WEEKDAYS)}.",
            f"We finally visited the {r.choice(PLACES)} in {_city(r)}, and it was {r.choice(PLACE_ADJS)}.",
            f"The weather here has been {r.choice(WEATHER_CONDITIONS)} all week.",
            f"Could you send me the recipe for {r.choice(RECIPES)[0]}?",
            f"I start my new job as {_art(r.choice(su.JOBS))} on {_date(r, False)}.",
            f"The {r.choice(ANIMALS)[0]} in the garden is back again.",
            f"Let us meet at the {r.choice(PLACES)} at {_clock(r, 10, 19)} next {r.choice(su.WEEKDAYS)}.",
            f"My train ticket cost {_money(_price_cents(r, 15, 90))}, which is more than last year.",
        ],
        r.randint(3, 6),
    )
    closing = r.choice(("Best wishes,", "Love,", "See you soon,", "Warm regards,", "Take care,"))
    return f"{greeting} {to},\n" + " ".join(body) + f"\n{closing}\n{frm}"


GENERAL_GENERATORS: tuple[tuple[Callable[[random.Random], str], float], ...] = (
    (_gen_story, 4.0),
    (_gen_place, 2.0),
    (_gen_weather, 1.5),
    (_gen_animals, 2.0),
    (_gen_howto, 1.5),
    (_gen_work, 1.5),
    (_gen_travel, 1.2),
    (_gen_dialogue, 2.0),
    (_gen_list, 1.0),
    (_gen_numbers, 2.5),
    (_gen_world_qa, 1.5),
    (_gen_letter, 1.0),
)

# ---------------------------------------------------------------------------------------------
# Personal facts
# ---------------------------------------------------------------------------------------------

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
            f"{first} works as {_art(a['job'])} at {a['employer']}, starting at {a['work_start']} on "
            f"{_join_and(a['workdays'])}.",
            f"The commute takes {a['commute_min']} minutes each way, and {first} drives {_art(a['car_desc'])}.",
            f"At home there is {_art(a['pet_species'])} named {a['pet_name']}.",
            f"{first} is married to {a['spouse_name']}, who was born in {a['spouse_year']}.",
            f"In free time, {first} enjoys {a['hobby1']} and {a['hobby2']}.",
            f"{first} is allergic to {a['allergy']} and loves {a['cuisine']} food.",
            f"Every week {first} has {a['activity']} on {_join_and(a['activity_days'])}.",
            f"{first}'s doctor is {a['doctor']}, and the dentist is {a['dentist']}.",
            f"In an emergency, call {a['emergency_contact']}; the number ends in {a['ec_phone_last']}.",
            f"{first} has a sibling, {a['sibling_name']}, born in {a['sibling_year']}.",
            f"{first} orders {_art(a['coffee'])} most mornings and pays ${a['rent']} a month in rent.",
        ]
        if a["child_name"]:
            options.append(
                f"{first} and {a['spouse_name']} have a child, {a['child_name']}, born in {a['child_year']}."
            )
    else:
        options = [
            f"Hi, I'm {full}, born in {a['birth_year']}, and I live in {a['city']}.",
            f"I work as {_art(a['job'])} at {a['employer']} and start at {a['work_start']}.",
            f"My commute is {a['commute_min']} minutes, so I leave home at "
            f"{su._min_to_hhmm(su._hhmm_to_min(a['work_start']) - a['commute_min'])}.",
            f"I share my home with {_art(a['pet_species'])} called {a['pet_name']}.",
            f"My spouse {a['spouse_name']} and I like {a['cuisine']} food, but I have to avoid {a['allergy']}.",
            f"On {_join_and(a['activity_days'])} I have {a['activity']}.",
            f"My favorite color is {a['color']}, and my coffee is always {_art(a['coffee'])}.",
            f"When I get sick I call {a['doctor']}; for my teeth I see {a['dentist']}.",
            f"I drive {_art(a['car_desc'])} and use {_art(a['phone_model'])}.",
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

# ---------------------------------------------------------------------------------------------
# Organisation facts
# ---------------------------------------------------------------------------------------------


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
                "hq": _city(r),
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
                f"{_poss(n)} mascot animal is the {o['mascot']}.",
                f"The mascot of {n} is the {o['mascot']}.",
                f"Everyone at {n} knows the company mascot, the {o['mascot']}.",
            )
        ),
        r.choice(
            (f"{_poss(n)} fiscal year starts in {o['fy_start']}.", f"The fiscal year at {n} begins in {o['fy_start']}.")
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
                f"{_poss(n)} customer support email starts with {prefix}.",
                f"Customers can write to {n} at {o['support_email']}.",
            )
        ),
        r.choice(
            (
                f"{_poss(n)} flagship product is called {o['flagship']}.",
                f"{o['flagship']}, {_art(o['product_kind'])}, is the flagship product of {n}.",
            )
        ),
        r.choice(
            (
                f"{_poss(n)} monthly all-hands is on the {o['allhands']}.",
                f"Every month, {n} holds an all-hands meeting on the {o['allhands']}.",
            )
        ),
        r.choice((f"{n} was founded in {o['founded']}.", f"{n} has about {o['employees']} employees.")),
    ]
    if o["parent"]:
        out.append(
            r.choice(
                (
                    f"{_poss(n)} parent company is {o['parent']}.",
                    f"{n} is a subsidiary of {o['parent']}.",
                    f"{o['parent']} owns {n}.",
                )
            )
        )
    else:
        out.append(f"{n} is an independent company with no parent company.")
    return out


def _org_doc(r: random.Random, orgs: list[dict[str, Any]]) -> str:
    o = r.choice(orgs)
    n = o["org"]
    kind = r.random()
    if kind < 0.5:
        sents = _org_sentences(r, o)
        return " ".join(r.sample(sents, r.randint(5, 9)))
    if kind < 0.7:
        qa = [
            (f"Where is {n} headquartered?", o["hq"]),
            (f"What is {_poss(n)} mascot animal?", f"the {o['mascot']}"),
            (f"When does {_poss(n)} fiscal year start?", o["fy_start"]),
            (f"Who is the CEO of {n}?", o["ceo"]),
            (f"What is the IT support extension at {n}?", o["it_ext"]),
            (f"What is {_poss(n)} flagship product called?", o["flagship"]),
            (f"When is {_poss(n)} monthly all-hands?", f"on the {o['allhands']}"),
            (f"What time do {n} office hours start?", f"{o['office_open']} a.m."),
            (f"What is {_poss(n)} parent company?", o["parent"] or "none; it is independent"),
            (f"What is the customer support email of {n}?", o["support_email"]),
        ]
        return "\n".join(f"Q: {q}\nA: {a}" for q, a in r.sample(qa, r.randint(4, 7)))
    if kind < 0.85:
        lead = (
            f"{o['hq']}, {_date(r, True)}: {n}"
            + (f", a subsidiary of {o['parent']}," if o["parent"] else "")
            + f" announced a new version of {o['flagship']}, its {o['product_kind']}."
        )
        quote = _quote(r.choice(_CEO_QUOTES), "said", f"{o['ceo']}, the CEO")
        return " ".join([lead, quote, r.choice(_org_sentences(r, o))])
    sents = _org_sentences(r, o)
    return (
        f"Welcome to {n}! "
        + f"Office hours start at {o['office_open']} a.m. "
        + f"For IT help, dial extension {o['it_ext']}. "
        + r.choice(sents)
    )


# ---------------------------------------------------------------------------------------------
# Notes, diaries and chats
# ---------------------------------------------------------------------------------------------


def _note_doc(r: random.Random, user: dict[str, Any]) -> str:
    a = user["attrs"]
    pet, species = a["pet_name"], a["pet_species"]
    kind = r.randrange(4)
    day = r.choice(su.WEEKDAYS)
    if kind == 0:
        pool = [
            f"Took {pet} to the vet this morning; the {species} is "
            f"{r.choice(('fine', 'a bit overweight', 'much better', 'healthy'))}.",
            f"Called {a['doctor']} about my {r.choice(('cough', 'back pain', 'headaches', 'sore knee'))}.",
            f"The appointment with {a['dentist']} is moved to {day} at {_clock(r, 8, 17)}.",
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
        return f"{day}, {_date(r, False)}. " + " ".join(r.sample(pool, r.randint(4, 7)))
    if kind == 1:
        items = [
            f"dentist with {a['dentist']}, {day} {_clock(r, 8, 17)}",
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
                f"Done. Your checkup with {a['doctor']} is on {day} at {_clock(r, 8, 16)}.",
            ),
            (
                f"Remind me to feed {pet} tonight.",
                f"Okay, I will remind you to feed {pet}, your {species}, at {_clock(r, 17, 21)}.",
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
            (f"When do I have {a['activity']} next?", f"You have {a['activity']} on {_join_and(a['activity_days'])}."),
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
                    (a["first_name"], f"Yes, it is on {r.choice(su.WEEKDAYS)} at {_clock(r, 8, 17)}."),
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


# ---------------------------------------------------------------------------------------------
# Corpus assembly
# ---------------------------------------------------------------------------------------------

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
            text = _org_doc(r, orgs)
        else:
            text = _note_doc(r, users.pick(r))
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

The training text is generated entirely by this project (`engram_probe/data/corpus.py` and
`engram_probe/data/synthetic_users.py`); nothing is downloaded and no external text or data set is
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
