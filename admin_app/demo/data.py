"""Fixed word lists the demo data is drawn from."""

from __future__ import annotations

FIRST_NAMES = """
Ada Alan Amara Anna Ben Carla Chen Chloe Dan Diego Elena Emma Farah Felix Grace Hana
Hugo Ines Ivan Jonas Julia Kai Kenji Lara Leo Lina Luca Maya Mei Mila Noah Nora Omar
Oscar Paula Priya Rafael Rosa Sami Sara Sofia Tariq Theo Uma Vera Wei Yara Yusuf Zoe
""".split()

LAST_NAMES = """
Abbott Alvarez Andersen Bauer Becker Brown Costa Dubois Eriksen Fischer Garcia Gomez
Hansen Hoffmann Ito Jansen Kim Kowalski Laurent Lee Lopez Martin Meyer Moreau Muller
Nakamura Nguyen Novak Okafor Olsen Patel Perez Rossi Santos Schmidt Silva Smith Suzuki
Tanaka Taylor Thomas Torres Varga Wagner Weber Wilson Wong Yilmaz Zhang
""".split()

CITIES = {
    "DE": ("Berlin", "Hamburg", "Munich", "Cologne", "Leipzig"),
    "FR": ("Paris", "Lyon", "Marseille", "Lille", "Nantes"),
    "GB": ("London", "Manchester", "Leeds", "Bristol", "Glasgow"),
    "US": ("New York", "Chicago", "Austin", "Seattle", "Boston"),
    "JP": ("Tokyo", "Osaka", "Kyoto", "Sapporo", "Fukuoka"),
    "BR": ("Sao Paulo", "Rio de Janeiro", "Curitiba", "Recife", "Salvador"),
    "IN": ("Mumbai", "Delhi", "Bengaluru", "Pune", "Chennai"),
    "NG": ("Lagos", "Abuja", "Ibadan", "Kano", "Enugu"),
}

CATALOGUE = {
    ("Coffee", "coffee"): ("Espresso Beans", "Filter Blend", "Decaf Roast", "Single Origin"),
    ("Tea", "tea"): ("Green Sencha", "Earl Grey", "Rooibos", "Masala Chai"),
    ("Brewing gear", "brewing-gear"): ("Pour-over Kettle", "French Press", "Hand Grinder"),
    ("Cups & mugs", "cups-mugs"): ("Stoneware Mug", "Glass Cup", "Travel Tumbler"),
    ("Snacks", "snacks"): ("Almond Biscotti", "Dark Chocolate", "Oat Cookies"),
    ("Gift cards", "gift-cards"): ("Gift Card 25", "Gift Card 50"),
}

SIZES = ("250 g", "500 g", "1 kg", "small", "large")

TAGS = (
    "organic",
    "fair-trade",
    "bestseller",
    "new",
    "limited",
    "vegan",
    "gift",
    "bundle",
    "seasonal",
    "sale",
    "premium",
    "local",
)
