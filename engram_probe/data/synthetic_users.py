"""Synthetic users with personal facts, in the reference per-user JSON schema.

Every user is a dict ``{uid, attrs, facts, direct_qa, indirect_qa}``:

- ``attrs``: the raw persona attributes (``None`` where one does not apply, e.g. no child);
- ``facts``: atomic facts ``{key, answer, paraphrases}``; the first paraphrase of every fact is a
  first-person sentence that ends with the answer text followed by ``"."``;
- ``direct_qa``: one question per fact, with the answer as a string;
- ``indirect_qa``: questions that need some reasoning over one or more facts (ages in 2026,
  comparisons, days of the week, commute arithmetic, allergies, ...), with correct answers.

All values come from the module-level pools below, which were written for this project (the
corpus generator reuses them). Generation is fully deterministic: a user depends only on its
``uid`` and ``seed`` (string seeding of :class:`random.Random` is stable across processes).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

CURRENT_YEAR = 2026

WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# ---------------------------------------------------------------------------------------------
# Value pools
# ---------------------------------------------------------------------------------------------

# fmt: off
FIRST_NAMES: tuple[str, ...] = (
    # English-speaking countries
    "Blake", "Brooke", "Caleb", "Claire", "Dylan", "Eleanor", "Ethan", "Fiona", "Gavin", "Hannah",
    "Isaac", "Jasper", "Julia", "Kendall", "Landon", "Lila", "Mason", "Molly", "Nolan", "Olivia",
    "Owen", "Paige", "Ruby", "Sawyer", "Sophie", "Tessa", "Tristan", "Violet", "Wesley", "Willa",
    "Ellis", "Jamie", "Jesse", "Robin", "River", "Remy", "Marlowe", "Emerson", "Shay", "Hollis",
    # Spanish and Portuguese
    "Alejandro", "Camila", "Diego", "Elena", "Gabriela", "Javier", "José", "Lucía", "Mateo", "Paloma",
    "Rafael", "Valentina", "Ximena", "Inés", "Andrés", "Joaquim", "Beatriz", "Thiago",
    # African
    "Abena", "Adaeze", "Amara", "Chidi", "Femi", "Kofi", "Kwame", "Nia", "Olu", "Sade",
    "Thandiwe", "Zola", "Jabari", "Amina", "Tendai", "Yaw", "Makena", "Sekou",
    # East Asian
    "Aiko", "Daichi", "Haruto", "Hana", "Jin", "Jiwoo", "Kenji", "Mei", "Minjun", "Ren",
    "Sakura", "Seo-yeon", "Wei", "Xiu", "Yuki", "Hiro", "Lian", "Bao",
    # South Asian
    "Aarav", "Ananya", "Arjun", "Devika", "Ishaan", "Kavya", "Meera", "Nikhil", "Priya", "Rohan",
    "Sanjay", "Tara", "Vikram", "Anjali", "Dev",
    # Middle Eastern
    "Amir", "Dalia", "Farah", "Hassan", "Karim", "Layla", "Nadia", "Omar", "Rami", "Samira",
    "Tariq", "Yasmin", "Leila", "Yusuf",
    # European
    "Anders", "Astrid", "Björn", "Bruno", "Chloé", "Dmitri", "Elsa", "Emil", "Greta", "Henrik",
    "Ingrid", "Ivan", "Katya", "Klaus", "Lars", "Luca", "Marta", "Matteo", "Milan", "Nils",
    "Oskar", "Petra", "Renée", "Sven", "Søren", "Teodor", "Zoë", "Noémie", "Agnieszka", "Tomasz",
    "Giulia", "Francesca", "Siobhan", "Declan", "Niamh", "Ciarán", "Elif", "Emre", "Mehmet", "Anouk",
    # Pacific and elsewhere
    "Keoni", "Leilani", "Manaia", "Aroha", "Talia", "Ezra", "Miriam", "Levi",
)

SURNAMES: tuple[str, ...] = (
    # English, Irish, Scottish
    "Ashworth", "Bancroft", "Caldwell", "Dalton", "Ellison", "Fairbanks", "Gallagher", "Hartley",
    "Ingram", "Jennings", "Kingsley", "Lockwood", "Merriweather", "Norwood", "Oakley", "Pemberton",
    "Radcliffe", "Sutherland", "Thornton", "Underwood", "Vance", "Whitaker", "Blackwood", "Cartwright",
    "Fletcher", "Hawthorne", "Prescott", "Winslow", "Ridley", "O'Connell", "McAllister", "Donnelly",
    "Fitzgerald", "Kavanagh", "MacLeod", "Byrne", "Quigley", "Moran",
    # Spanish, Portuguese, Latin American, Filipino
    "Aguilar", "Barrios", "Castillo", "Delgado", "Escobar", "Fuentes", "Guerrero", "Herrera",
    "Ibáñez", "Jiménez", "Lozano", "Medina", "Navarro", "Núñez", "Olivares", "Peña", "Quintero",
    "Rosales", "Salazar", "Toledo", "Valdez", "Zamora", "Carvalho", "Pereira", "Gonçalves",
    "Almeida", "Moreira", "Santos", "Reyes", "Bautista",
    # French
    "Beaumont", "Chevalier", "Delacroix", "Fontaine", "Girard", "Lefèvre", "Moreau", "Rousseau",
    "Marchand", "Bonnet",
    # German, Dutch, Nordic, Finnish
    "Albrecht", "Brandt", "Eckert", "Fischer", "Hoffmann", "Kessler", "Lindqvist", "Müller",
    "Neumann", "Schröder", "Vogel", "Zimmermann", "van Dijk", "de Vries", "Bakker", "Janssen",
    "Nilsson", "Halvorsen", "Lindgren", "Sørensen", "Eriksen", "Virtanen", "Koskinen",
    # Italian
    "Bianchi", "Colombo", "Esposito", "Ferrara", "Greco", "Lombardi", "Marino", "Ricci", "Romano",
    "Santoro", "Conti", "De Luca",
    # Central and Eastern European
    "Dvořák", "Horvat", "Jankowski", "Kowalczyk", "Nowak", "Petrov", "Sokolov", "Volkov",
    "Wiśniewski", "Popescu", "Novák", "Babić", "Zielinski",
    # Greek and Turkish
    "Papadopoulos", "Georgiou", "Demir", "Yılmaz", "Öztürk", "Kaya", "Aydin",
    # Middle Eastern
    "Haddad", "Khoury", "Mansour", "Nasser", "Rahimi", "Saleh", "Farouk", "Karimi", "Tehrani", "Aziz",
    # South Asian
    "Agarwal", "Banerjee", "Chopra", "Desai", "Iyer", "Joshi", "Kapoor", "Malhotra", "Menon", "Nair",
    "Rao", "Reddy", "Trivedi", "Verma", "Chatterjee", "Pillai",
    # East and Southeast Asian
    "Choi", "Jeong", "Han", "Kang", "Liu", "Wang", "Zhao", "Huang", "Lin", "Xu", "Zhou", "Watanabe",
    "Yamamoto", "Nakamura", "Kobayashi", "Sato", "Ito", "Takahashi", "Matsumoto", "Tran", "Pham",
    "Vu", "Hoang",
    # African
    "Okafor", "Adeyemi", "Mensah", "Owusu", "Diallo", "Nkosi", "Okonkwo", "Abubakar", "Kamau",
    "Otieno", "Mutua", "Boateng", "Asante", "Balogun", "Chukwu", "Ndlovu", "Dlamini", "Traoré",
    "Keita", "Haile", "Tesfaye", "Bekele", "Girma",
    # Pacific
    "Kealoha", "Tupou", "Ngata",
)

# (city, timezone abbreviation)
CITIES: tuple[tuple[str, str], ...] = (
    ("Sacramento", "PST"), ("San Diego", "PST"), ("Fresno", "PST"), ("Spokane", "PST"),
    ("Eugene", "PST"), ("Tacoma", "PST"), ("Reno", "PST"), ("Oakland", "PST"),
    ("Santa Barbara", "PST"), ("Bellingham", "PST"), ("Vancouver", "PST"), ("Victoria", "PST"),
    ("Long Beach", "PST"), ("San Jose", "PST"),
    ("Albuquerque", "MST"), ("Salt Lake City", "MST"), ("Phoenix", "MST"), ("Flagstaff", "MST"),
    ("Santa Fe", "MST"), ("Billings", "MST"), ("Cheyenne", "MST"), ("Colorado Springs", "MST"),
    ("Calgary", "MST"), ("Edmonton", "MST"), ("Missoula", "MST"), ("Fort Collins", "MST"),
    ("Omaha", "CST"), ("Kansas City", "CST"), ("Milwaukee", "CST"), ("Memphis", "CST"),
    ("Nashville", "CST"), ("New Orleans", "CST"), ("Tulsa", "CST"), ("Des Moines", "CST"),
    ("St. Louis", "CST"), ("Little Rock", "CST"), ("Wichita", "CST"), ("San Antonio", "CST"),
    ("Houston", "CST"), ("Dallas", "CST"), ("Winnipeg", "CST"), ("Fargo", "CST"),
    ("Pittsburgh", "EST"), ("Baltimore", "EST"), ("Richmond", "EST"), ("Savannah", "EST"),
    ("Charleston", "EST"), ("Buffalo", "EST"), ("Rochester", "EST"), ("Hartford", "EST"),
    ("Providence", "EST"), ("Burlington", "EST"), ("Columbus", "EST"), ("Cincinnati", "EST"),
    ("Cleveland", "EST"), ("Detroit", "EST"), ("Asheville", "EST"), ("Orlando", "EST"),
    ("Toronto", "EST"), ("Ottawa", "EST"), ("Montréal", "EST"), ("Halifax", "AST"),
    ("Anchorage", "AKST"), ("Honolulu", "HST"),
    ("London", "GMT"), ("Dublin", "GMT"), ("Edinburgh", "GMT"), ("Lisbon", "WET"),
    ("Berlin", "CET"), ("Munich", "CET"), ("Zürich", "CET"), ("Kraków", "CET"), ("Oslo", "CET"),
    ("Vienna", "CET"), ("Athens", "EET"), ("Helsinki", "EET"), ("Nairobi", "EAT"), ("Accra", "GMT"),
    ("Lagos", "WAT"), ("Cape Town", "SAST"), ("Tokyo", "JST"), ("Osaka", "JST"), ("Seoul", "KST"),
    ("Singapore", "SGT"), ("Mumbai", "IST"), ("Bengaluru", "IST"), ("Auckland", "NZST"),
    ("Melbourne", "AEST"), ("Brisbane", "AEST"), ("Perth", "AWST"), ("São Paulo", "BRT"),
    ("Bogotá", "COT"), ("Lima", "PET"), ("Mexico City", "CST"),
)

JOBS: tuple[str, ...] = (
    "accountant", "architect", "pharmacist", "electrician", "librarian", "veterinarian",
    "physical therapist", "graphic designer", "marketing manager", "sous chef", "dental hygienist",
    "firefighter", "journalist", "urban planner", "biologist", "chemist", "translator",
    "social worker", "UX researcher", "mechanical engineer", "airline pilot", "flight attendant",
    "carpenter", "plumber", "real estate agent", "museum curator", "music teacher",
    "occupational therapist", "statistician", "financial advisor", "lab technician", "park ranger",
    "copy editor", "speech therapist", "insurance underwriter", "logistics coordinator",
    "sound engineer", "optometrist", "landscape architect", "web developer",
    "database administrator", "human resources manager", "bookkeeper", "photographer", "midwife",
    "paramedic", "pastry chef", "tax consultant", "project manager", "systems administrator",
    "physics teacher", "hydrologist", "court reporter", "event planner", "machinist",
)

EMPLOYERS: tuple[str, ...] = (
    "Bramblewood Analytics", "Copperfield Freight", "Greyheron Labs", "Tidewater Health",
    "Lanternfish Software", "Marigold Textiles", "Quillstone Press", "Redwing Aerospace",
    "Saltmarsh Energy", "Thistle & Oak Design", "Umberlight Studios", "Violet Hill Foods",
    "Willowbank Insurance", "Yellowtail Robotics", "Zephyr Rail", "Bluepine Credit Union",
    "Crestline Medical", "Driftwood Games", "Everglow Lighting", "Foxglove Pharmacy",
    "Granite Peak Outfitters", "Hollowreed Acoustics", "Ironbark Construction",
    "Juniper Grove Bakery", "Kestrel Mapping", "Larkspur Hotels", "Moonstone Jewelry",
    "Nettlefield Farms", "Oakhaven Library Services", "Pebblebrook Schools", "Quarry Lane Motors",
    "Riverstone Clinic", "Silverbirch Bank", "Tanglewood Media", "Starling Biotech",
    "Wavecrest Shipping", "Brightmoor Architects", "Fernhill Veterinary", "Coldwater Brewing",
    "Mapleridge Transit",
)

PET_SPECIES: tuple[str, ...] = (
    "cat", "dog", "rabbit", "parrot", "hamster", "tortoise", "guinea pig", "ferret", "goldfish",
    "budgie", "gecko", "corn snake", "hedgehog", "cockatiel", "chinchilla", "beagle", "terrier",
    "iguana",
)

PET_NAMES: tuple[str, ...] = (
    "Pickles", "Noodle", "Juniper", "Pepper", "Waffles", "Marble", "Ziggy", "Bramble", "Captain",
    "Olive", "Pistachio", "Rocket", "Sprout", "Domino", "Nutmeg", "Bean", "Gizmo", "Luna", "Milo",
    "Otis", "Pumpkin", "Rusty", "Shadow", "Sunny", "Toffee", "Wally", "Basil", "Cinder", "Dottie",
    "Fudge", "Goose", "Kiwi", "Lemon", "Maple", "Nacho", "Peanut", "Radish", "Sushi", "Truffle",
    "Velvet", "Whiskers", "Zelda", "Chester", "Duke", "Fern", "Grover", "Honey", "Indigo",
    "Jellybean", "Koda", "Lulu", "Mango", "Nimbus", "Oscar", "Pippin", "Rolo", "Scout", "Tofu",
    "Winston", "Crumpet", "Dumpling", "Señor Fluff",
)

# (make, model)
CAR_MODELS: tuple[tuple[str, str], ...] = (
    ("Toyota", "Corolla"), ("Toyota", "Camry"), ("Toyota", "Prius"), ("Toyota", "Tacoma"),
    ("Honda", "Accord"), ("Honda", "CR-V"), ("Honda", "Fit"), ("Ford", "Focus"), ("Ford", "F-150"),
    ("Ford", "Escape"), ("Ford", "Mustang"), ("Chevrolet", "Malibu"), ("Chevrolet", "Bolt"),
    ("Chevrolet", "Equinox"), ("Nissan", "Leaf"), ("Nissan", "Altima"), ("Nissan", "Rogue"),
    ("Hyundai", "Elantra"), ("Hyundai", "Kona"), ("Hyundai", "Santa Fe"), ("Kia", "Soul"),
    ("Kia", "Sportage"), ("Kia", "Niro"), ("Subaru", "Forester"), ("Subaru", "Crosstrek"),
    ("Subaru", "Impreza"), ("Mazda", "Mazda3"), ("Mazda", "MX-5 Miata"), ("Volkswagen", "Jetta"),
    ("Volkswagen", "Tiguan"), ("Tesla", "Model 3"), ("Tesla", "Model Y"), ("Volvo", "XC40"),
    ("Volvo", "V60"), ("BMW", "X3"), ("Audi", "A4"), ("Jeep", "Wrangler"), ("Jeep", "Cherokee"),
    ("Mini", "Cooper"), ("Fiat", "500"), ("GMC", "Sierra"), ("Lexus", "RX 350"),
    ("Chrysler", "Pacifica"), ("Skoda", "Octavia"), ("Renault", "Clio"), ("Peugeot", "208"),
)

HOBBIES: tuple[str, ...] = (
    "knitting", "watercolor painting", "kayaking", "gardening", "stamp collecting",
    "amateur astronomy", "origami", "calligraphy", "fly fishing", "cross-country skiing",
    "salsa dancing", "jigsaw puzzles", "model trains", "beekeeping", "photography",
    "crossword puzzles", "mountain biking", "sailing", "surfing", "embroidery", "playing the cello",
    "geocaching", "quilting", "scuba diving", "board games", "archery", "fencing", "hiking",
    "tennis", "table tennis", "home brewing", "journaling", "stand-up paddleboarding",
    "leatherworking", "candle making", "foraging for mushrooms", "learning Italian",
    "restoring old furniture", "sketching", "ice skating", "soap making", "cycling",
    "ballroom dancing", "pickleball", "bonsai", "playing the ukulele", "magic tricks",
)

CUISINES: tuple[str, ...] = (
    "Korean", "Lebanese", "Peruvian", "Greek", "Indian", "Turkish", "Moroccan", "Spanish", "French",
    "Brazilian", "Georgian", "Filipino", "Malaysian", "Sichuan", "Cantonese", "Nepalese",
    "Sri Lankan", "Persian", "Polish", "Cuban", "Jamaican", "Nigerian", "Argentinian", "Portuguese",
    "Indonesian", "Hungarian", "Afghan", "Cajun", "Basque", "Oaxacan", "Taiwanese", "Burmese",
)

# (allergen as a noun, adjective form used in "I have a ... allergy")
ALLERGENS: tuple[tuple[str, str], ...] = (
    ("peanuts", "peanut"), ("tree nuts", "tree nut"), ("shellfish", "shellfish"), ("dairy", "dairy"),
    ("eggs", "egg"), ("gluten", "gluten"), ("sesame", "sesame"), ("soy", "soy"), ("fish", "fish"),
    ("mustard", "mustard"),
)
ALLERGY_NAMES: tuple[str, ...] = tuple(noun for noun, _ in ALLERGENS)

# (dish, allergens it clearly contains). Only dishes whose main allergens are unambiguous.
DISHES: tuple[tuple[str, frozenset[str]], ...] = (
    ("grilled salmon", frozenset({"fish"})),
    ("tuna sashimi", frozenset({"fish"})),
    ("baked cod", frozenset({"fish"})),
    ("boiled shrimp", frozenset({"shellfish"})),
    ("crab legs", frozenset({"shellfish"})),
    ("shrimp cocktail", frozenset({"shellfish"})),
    ("roasted peanuts", frozenset({"peanuts"})),
    ("peanut butter on toast", frozenset({"peanuts", "gluten"})),
    ("salted cashews", frozenset({"tree nuts"})),
    ("toasted almonds", frozenset({"tree nuts"})),
    ("pecan pie", frozenset({"tree nuts", "gluten", "eggs", "dairy"})),
    ("grilled cheese sandwich", frozenset({"dairy", "gluten"})),
    ("plain yogurt", frozenset({"dairy"})),
    ("cheddar cheese", frozenset({"dairy"})),
    ("a glass of milk", frozenset({"dairy"})),
    ("cheesecake", frozenset({"dairy", "eggs", "gluten"})),
    ("hard-boiled eggs", frozenset({"eggs"})),
    ("poached eggs", frozenset({"eggs"})),
    ("cheese omelette", frozenset({"eggs", "dairy"})),
    ("French toast", frozenset({"eggs", "gluten", "dairy"})),
    ("hummus with tahini", frozenset({"sesame"})),
    ("sesame bagel", frozenset({"sesame", "gluten"})),
    ("steamed tofu", frozenset({"soy"})),
    ("salted edamame", frozenset({"soy"})),
    ("soy milk", frozenset({"soy"})),
    ("a hot dog with mustard", frozenset({"mustard", "gluten"})),
    ("roast beef with mustard", frozenset({"mustard"})),
    ("soft pretzels", frozenset({"gluten"})),
    ("couscous", frozenset({"gluten"})),
    ("flour tortillas", frozenset({"gluten"})),
    ("plain white rice", frozenset()),
    ("fresh fruit salad", frozenset()),
    ("steamed broccoli", frozenset()),
    ("baked potato with olive oil", frozenset()),
    ("grilled corn on the cob", frozenset()),
    ("guacamole with corn chips", frozenset()),
    ("roast chicken with herbs", frozenset()),
    ("grilled steak", frozenset()),
    ("carrot sticks", frozenset()),
    ("apple slices", frozenset()),
)

ACTIVITIES: tuple[str, ...] = (
    "swim practice", "choir rehearsal", "ceramics class", "tennis lessons", "Spanish class",
    "a volunteer shift", "band practice", "cooking class", "spin class", "pilates", "rowing practice",
    "chess club", "soccer practice", "dance class", "trivia night", "a language exchange",
    "karate class", "running club", "art class", "physical therapy", "piano lessons", "tai chi",
    "boxing class", "improv class",
)

COFFEE_ORDERS: tuple[str, ...] = (
    "flat white", "double espresso", "vanilla latte", "cappuccino with cinnamon", "iced americano",
    "mocha", "macchiato", "almond milk cappuccino", "drip coffee with cream", "decaf latte",
    "caramel macchiato", "Turkish coffee", "café au lait", "honey lavender latte", "red eye",
    "lungo", "ristretto", "chai latte", "café con leche", "iced mocha", "hazelnut latte",
    "espresso tonic", "affogato", "long black",
)

COLORS: tuple[str, ...] = (
    "teal", "crimson", "lavender", "mustard yellow", "sky blue", "emerald", "coral", "maroon",
    "olive green", "turquoise", "plum", "sage green", "peach", "cobalt blue", "magenta", "mint green",
    "scarlet", "lilac", "gold", "silver", "periwinkle", "burgundy", "tangerine", "indigo",
    "rose pink", "sea green", "sand", "terracotta", "cream", "mauve", "cherry red", "midnight blue",
    "lime green", "copper", "aqua", "jade", "apricot", "cerulean",
)

PHONE_MODELS: tuple[str, ...] = (
    "iPhone 13 mini", "iPhone 12", "iPhone SE", "iPhone 16 Pro", "iPhone 15 Plus", "Pixel 7",
    "Pixel 6a", "Pixel 8 Pro", "Pixel Fold", "Galaxy S23", "Galaxy S22", "Galaxy A54",
    "Galaxy Z Flip5", "Galaxy S24 Ultra", "Galaxy A15", "OnePlus 11", "OnePlus Nord",
    "Moto G Stylus", "Motorola Edge", "Fairphone 4", "Nothing Phone 2", "Xiaomi 13", "Nokia G60",
    "Sony Xperia 5",
)

# (work days in week order, relative weight)
WORKDAY_PATTERNS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"), 8),
    (("Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"), 3),
    (("Monday", "Tuesday", "Wednesday", "Thursday"), 3),
    (("Monday", "Tuesday", "Wednesday", "Thursday", "Sunday"), 1),
    (("Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), 1),
    (("Monday", "Tuesday", "Thursday", "Friday"), 1),
    (("Monday", "Wednesday", "Friday"), 1),
    (("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"), 1),
    (("Friday", "Saturday", "Sunday"), 1),
)

WORK_START_TIMES: tuple[str, ...] = (
    "07:00", "07:30", "08:00", "08:15", "08:30", "08:45", "09:00", "09:30", "10:00", "10:30", "11:00",
)

# ---------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------

ATTR_KEYS: tuple[str, ...] = (
    "uid", "first_name", "last_name", "full_name", "birth_year", "city", "timezone", "job", "employer",
    "workdays", "work_start", "commute_min", "pet_species", "pet_name", "car_desc", "car_year",
    "hobby1", "hobby2", "cuisine", "allergy", "spouse_name", "spouse_year", "child_name", "child_year",
    "sibling_name", "sibling_year", "activity", "activity_days", "rent", "emergency_contact",
    "ec_phone_last", "phone_model", "doctor", "dentist", "coffee", "running_pace", "shoe_size", "color",
)

FACT_KEYS: tuple[str, ...] = (
    "name", "birth_year", "city", "timezone", "job", "employer", "workdays", "work_start",
    "commute_min", "pet", "car", "car_year", "hobby1", "hobby2", "cuisine", "allergy", "spouse_name",
    "spouse_year", "child_name", "child_year", "sibling_name", "sibling_year", "activity",
    "activity_days", "rent", "emergency_contact", "ec_phone_last", "phone_model", "doctor", "dentist",
    "coffee", "running_pace", "shoe_size", "color",
)

INDIRECT_SCHEMAS: tuple[str, ...] = ("AGE", "COMPARE", "DAY_SET", "ROUTINE", "ALLERGY", "COMMUTE", "POLICY", "MULTI")

USER_KEYS: tuple[str, ...] = ("uid", "attrs", "facts", "direct_qa", "indirect_qa")

# fmt: on

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

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_A_NOT_AN_PREFIXES = ("uni", "use", "usu", "ux", "uk", "eu", "one")


def with_article(phrase: str) -> str:
    """Prefix ``phrase`` with "a" or "an" (simple English heuristics)."""
    low = phrase.lower()
    if low.startswith(_A_NOT_AN_PREFIXES):
        return f"a {phrase}"
    if low[:1] in "aeiou" or low.startswith(("8", "11", "18")):
        return f"an {phrase}"
    return f"a {phrase}"


def answer_text(answer: Any) -> str:
    """Render a fact answer as text: ``", ".join`` for lists, ``str`` otherwise."""
    if isinstance(answer, list | tuple):
        return ", ".join(str(a) for a in answer)
    return str(answer)


def _join_and(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def _hhmm_to_min(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _min_to_hhmm(total: int) -> str:
    total %= 24 * 60
    return f"{total // 60:02d}:{total % 60:02d}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------------


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


def _make_direct_qa(a: dict[str, Any]) -> list[dict[str, str]]:
    qa = []
    for key, answer in _fact_answers(a).items():
        question = DIRECT_QUESTIONS[key].format(activity=a["activity"])
        text = with_article(answer) if key == "pet" else answer_text(answer)
        qa.append({"key": key, "question": question, "answer": text})
    return qa


# ---------------------------------------------------------------------------------------------
# Indirect questions
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def generate_user(uid: str, seed: int) -> dict[str, Any]:
    """Generate one synthetic user in the reference schema; depends only on ``(uid, seed)``."""
    rng = random.Random(f"engram-synthetic-user|{seed}|{uid}")
    attrs = _make_attrs(uid, rng)
    return {
        "uid": uid,
        "attrs": attrs,
        "facts": _make_facts(attrs, rng),
        "direct_qa": _make_direct_qa(attrs),
        "indirect_qa": _make_indirect_qa(attrs, rng),
    }


def generate_users(n: int, seed: int = 0, prefix: str = "s") -> list[dict[str, Any]]:
    """Generate ``n`` users with uids ``f"{prefix}{i:03d}"`` (deterministic for a seed)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return [generate_user(f"{prefix}{i:03d}", seed) for i in range(n)]


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


def _validate_user(user: Any, source: str) -> dict[str, Any]:
    if not isinstance(user, dict):
        raise ValueError(f"{source}: expected a JSON object for a user, got {type(user).__name__}")
    missing = [k for k in ("uid", "facts") if k not in user]
    if missing:
        raise ValueError(f"{source}: user is missing required key(s): {', '.join(missing)}")
    if not isinstance(user["facts"], list):
        raise ValueError(f"{source}: 'facts' must be a list, got {type(user['facts']).__name__}")
    for i, fact in enumerate(user["facts"]):
        if not isinstance(fact, dict) or "key" not in fact or "answer" not in fact:
            raise ValueError(f"{source}: fact #{i} of user {user['uid']!r} needs 'key' and 'answer'")
    return user


def _load_file(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc})") from exc
    except OSError as exc:
        raise ValueError(f"{path}: cannot read file ({exc})") from exc
    items = data if isinstance(data, list) else [data]
    return [_validate_user(u, str(path)) for u in items]


def load_users(path: str) -> list[dict[str, Any]]:
    """Load users from a directory of ``*.json`` files (sorted by name) or from one ``.json`` file.

    A file may hold one user object or a list of them. Raises ``ValueError`` when the path does
    not exist, holds no JSON files, or contains malformed JSON or a user without ``uid``/``facts``.
    """
    p = Path(path)
    if not p.exists():
        raise ValueError(f"user path does not exist: {path}")
    if p.is_dir():
        files = sorted(f for f in p.glob("*.json") if f.is_file())
        if not files:
            raise ValueError(f"no *.json user files in directory: {path}")
        users: list[dict[str, Any]] = []
        for f in files:
            users.extend(_load_file(f))
        return users
    return _load_file(p)
