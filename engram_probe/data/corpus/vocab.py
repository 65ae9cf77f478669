"""Shared word pools for the general-English grammar (names, places, objects, animals, recipes, tasks)."""

from __future__ import annotations

from engram_probe.data import synthetic_users as su

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
# fmt: on
