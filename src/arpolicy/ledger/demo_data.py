"""Static catalogues behind ``arpolicy demo``: countries, names, prices, users, reasons.

Everything here is a tuple or a frozen dataclass (never a set, never a dict iterated for
order), so the generator that draws from it is deterministic. Lists are written as
``|``-separated text to stay readable; weights as ``name:weight``. Names are invented;
e-mail domains use the reserved ``.example`` top-level domain, so demo mail can never reach
a real mailbox.
"""

from __future__ import annotations

from arpolicy.ledger.demo_countries import COUNTRIES as COUNTRIES
from arpolicy.ledger.demo_countries import JAPANESE_NAMES as JAPANESE_NAMES
from arpolicy.ledger.demo_countries import JAPANESE_NOUNS as JAPANESE_NOUNS
from arpolicy.ledger.demo_countries import City as City
from arpolicy.ledger.demo_countries import Country as Country
from arpolicy.ledger.demo_names import FIRST_NAMES as FIRST_NAMES
from arpolicy.ledger.demo_names import LAST_NAMES as LAST_NAMES
from arpolicy.ledger.demo_text import items as items
from arpolicy.ledger.demo_text import pairs as pairs
from arpolicy.ledger.demo_text import weighted as weighted

DEMO_DOMAIN = "demo-merchant.example"

USD_ANCHORS = pairs("USD:1|EUR:1.08|GBP:1.27|JPY:0.0068|CAD:0.735|AUD:0.66|CHF:1.13|KWD:3.25")
"""US dollars per unit, as exact decimal text: where each monthly random walk starts and is
pulled back to."""

STEP_BPS = weighted("KWD:15|CHF:120|JPY:220")
"""Largest monthly move in basis points where it differs from the default (KWD is pegged)."""
DEFAULT_STEP_BPS = 180

SEAT_PRICE_MINOR = weighted(
    "USD:4900|EUR:4500|GBP:3900|CHF:4900|CAD:6500|AUD:7500|JPY:7000|KWD:14750"
)
"""List price of one seat per month, in minor units of each currency."""
WIRE_FEES = weighted("USD:1500|EUR:1000|GBP:1000|CHF:1500|CAD:1500|AUD:1500|JPY:2500|KWD:5000")
"""Bank charges a wire loses on the way, in minor units: short payments leave this open."""


AP_NAMES: tuple[tuple[str, str, str], ...] = (
    ("en", "Accounts Payable", "ap"),
    ("de", "Kreditorenbuchhaltung", "buchhaltung"),
    ("fr", "Comptabilité fournisseurs", "comptabilite"),
    ("ja", "経理部", "keiri"),
    ("ar", "الحسابات الدائنة", "accounts"),
)
"""(language, the accounts-payable department's name, its mailbox)."""

COLLECTION_TEAMS: tuple[tuple[str, str, int], ...] = (
    ("Americas", "en", 3),
    ("DACH", "de", 3),
    ("France", "fr", 2),
    ("UK & Ireland", "en", 2),
    ("APAC", "en", 2),
    ("Middle East", "ar", 1),
)
"""The merchant's collection teams: (team, language, collectors); each has a lead."""
SALES_REGIONS = weighted("North America:3|EMEA:4|APAC:2|Middle East:1")
"""Sales reps per region."""
ENTITY_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("North America", "New York"),
    ("EMEA", "Dublin"),
    ("APAC", "Singapore"),
    ("Middle East", "Dublin"),
)
"""The merchant's selling entity per region (the documents' location)."""

SEGMENTS = weighted("Enterprise:12|Mid-Market:30|SMB:50|Public Sector:8")
SEATS: tuple[tuple[str, int, int], ...] = (
    ("Enterprise", 200, 1500),
    ("Mid-Market", 25, 200),
    ("SMB", 1, 25),
    ("Public Sector", 40, 400),
)
NET_TERMS: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("Enterprise", ((30, 3), (45, 3), (60, 4))),
    ("Mid-Market", ((15, 1), (30, 6), (45, 2))),
    ("SMB", ((0, 5), (15, 3), (30, 4))),
    ("Public Sector", ((30, 2), (45, 2), (60, 3))),
)
"""(net term days, weight) per segment."""
GROUPS = weighted("Direct:70|Partner:15|Reseller:10|Marketplace:5")
PLANS: tuple[tuple[str, str, int], ...] = (
    ("Enterprise", "Enterprise Quarterly", 3),
    ("Mid-Market", "Growth Monthly", 1),
    ("SMB", "Starter Monthly", 1),
    ("Public Sector", "Public Sector Quarterly", 3),
)
"""(segment, plan, months billed per invoice)."""
PROJECTS = items("Implementation|Support|Licences|Training|Integration")

PROFILES = weighted("prompt:44|late:26|chronic:11|partial:7|disputer:6|defaulted:6")
"""How a customer pays: on time, a few weeks late, months late, in parts, disputes a lot,
stopped paying altogether."""
CARD_FAILURES = weighted(
    "insufficient_funds:5|card_declined:4|do_not_honor:2|processing_error:1|"
    "authentication_required:1"
)
BANK_FAILURES = weighted(
    "insufficient_funds:4|debit_not_authorized:1|account_closed:1|no_account:1"
)
DISPUTE_REASONS = items(
    "Service not delivered as agreed|Duplicate charge|Incorrect pricing|"
    "Quantity does not match the order|Missing PO number|Tax calculated incorrectly"
)
CREDIT_REASONS = items("service_credit|pricing_adjustment|goodwill|returns")
