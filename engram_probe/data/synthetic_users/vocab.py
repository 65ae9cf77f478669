"""Value pools for synthetic personas: names, places, jobs, pets, cars, foods and schedules."""

from __future__ import annotations

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

# fmt: on
