"""The demo's countries (currencies, languages, tax, cities, streets, phone formats),
re-exported by :mod:`arpolicy.ledger.demo_data` (see there: deterministic tuples, packed
text)."""

from __future__ import annotations

from dataclasses import dataclass

from arpolicy.ledger.demo_text import items, weighted


@dataclass(frozen=True, slots=True)
class City:
    name: str
    state: str | None
    postal_code: str
    timezone: str
    language: str | None = None
    """Overrides the country's language (Québec, Romandy)."""


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    weight: int
    currencies: tuple[tuple[str, int], ...]
    languages: tuple[tuple[str, str], ...]
    """(ISO 639-1 language, locale) in order of preference; the first is the default."""
    region: str
    team: str
    tax_bps: int
    suffixes: tuple[str, ...]
    stems: tuple[str, ...]
    nouns: tuple[str, ...]
    cities: tuple[City, ...]
    streets: tuple[str, ...]
    street_format: str
    phone: str


def _cities(text: str) -> tuple[City, ...]:
    """One city a line: ``name; state; postal code; time zone[; language]``."""
    cities = []
    for line in text.strip().splitlines():
        name, state, postal, tz, *language = (f.strip() for f in line.split(";"))
        cities.append(City(name, state or None, postal, tz, language[0] if language else None))
    return tuple(cities)


def _country(
    code: str,
    weight: int,
    currencies: str,
    locales: str,
    region: str,
    team: str,
    tax_bps: int,
    suffixes: str,
    names: tuple[tuple[str, ...], tuple[str, ...]],
    cities: str,
    streets: str,
    street_format: str,
    phone: str,
) -> Country:
    languages = tuple((locale.split("_")[0], locale) for locale in items(locales))
    return Country(
        code,
        weight,
        weighted(currencies),
        languages,
        region,
        team,
        tax_bps,
        items(suffixes),
        *names,
        _cities(cities),
        items(streets),
        street_format,
        phone,
    )


_EN = (
    items("""Northwind|Bluepeak|Cedar|Ironbridge|Lumen|Maple|Harbor|Summit|Redwood|Brightline|
          Silverline|Granite|Beacon|Evergreen|Falcon|Keystone|Pioneer|Quarry|Riverbend|
          Tidewater|Trailhead|Vantage|Westfield|Juniper|Orchard|Copperleaf|Halcyon|Lakeshore|
          Oakridge|Pinecrest"""),
    items("""Logistics|Analytics|Foods|Robotics|Health|Energy|Media|Software|Capital|Biotech|
          Retail|Labs|Systems|Engineering|Studios|Outfitters|Pharma|Networks|Materials|
          Hospitality"""),
)
_DE = (
    items("""Alpen|Nordlicht|Rheintal|Edelweiß|Schwarzwald|Sonnenhof|Weißdorn|Mühlbach|Lindenhof|
          Falkenstein|Kranich|Grünfeld|Krüger|Köhler|Brandt|Hoffmann|Schäfer|Becker|Wagner|
          Vogt|Lorenz|Haas"""),
    items("""Logistik|Maschinenbau|Software|Energie|Medien|Bau|Handel|Technik|Feinmechanik|
          Elektronik|Lebensmittel|Automation|Verpackung|Systeme"""),
)
_FR = (
    items("""Dubois|Lefèvre|Moreau|Girard|Bérard|Rousseau|Fontaine|Mercier|Chevalier|Lemaître|
          Beauséjour|Horizon|Océane|Lumière|Val de Loire|Côte d'Azur|Mistral|Sud-Ouest"""),
    items("""Conseil|Logistique|Informatique|Énergie|Bâtiment|Distribution|Santé|Ingénierie|
          Médias|Agroalimentaire|Transports|Services"""),
)
_JA = (
    items("Aozora|Midori|Tsubasa|Kaede|Hoshino|Yamato|Minato|Hikari|Asahi|Kurenai"),
    items("Seiki|Shoji|Systems|Denshi|Logistics|Kogyo|Foods|Software"),
)
_AR = (
    items("Al Noor|Al Safwa|Gulf Horizon|Al Bahar|Al Wafra|Sidra|Al Manara|Al Dana|Jaber"),
    items("General Trading|Contracting|Logistics|Medical Supplies|Technology|Catering"),
)
JAPANESE_NAMES = tuple(zip(_JA[0], items("青空|緑|翼|楓|星野|大和|港|光|旭|紅"), strict=True))
JAPANESE_NOUNS = tuple(
    zip(_JA[1], items("精機|商事|システムズ|電子|物流|工業|食品|ソフトウェア"), strict=True)
)
"""(romanised, Japanese) pairs: half the Japanese customers carry a name in kanji/kana."""

COUNTRIES: tuple[Country, ...] = (
    _country(
        "US",
        30,
        "USD:1",
        "en_US",
        "North America",
        "Americas",
        0,
        "Inc.|LLC|Corp.|Co.",
        _EN,
        """New York; NY; 10001; America/New_York
           Boston; MA; 02110; America/New_York
           Atlanta; GA; 30303; America/New_York
           Miami; FL; 33131; America/New_York
           Chicago; IL; 60601; America/Chicago
           Austin; TX; 78701; America/Chicago
           Minneapolis; MN; 55401; America/Chicago
           Denver; CO; 80202; America/Denver
           Phoenix; AZ; 85004; America/Phoenix
           San Francisco; CA; 94105; America/Los_Angeles
           Los Angeles; CA; 90012; America/Los_Angeles
           Seattle; WA; 98101; America/Los_Angeles""",
        "Main Street|Market Street|Broadway|Oak Avenue|Park Avenue|Commerce Drive|"
        "Industrial Parkway|Harbor Boulevard",
        "{n} {street}",
        "+1 {a3} 555 {d4}",
    ),
    _country(
        "CA",
        8,
        "CAD:6|USD:1",
        "en_CA|fr_CA",
        "North America",
        "Americas",
        500,
        "Ltd.|Inc.|Corp.",
        _EN,
        """Toronto; ON; M5H 2N2; America/Toronto
           Ottawa; ON; K1P 1J1; America/Toronto
           Vancouver; BC; V6B 1A1; America/Vancouver
           Calgary; AB; T2P 1J9; America/Edmonton
           Montréal; QC; H2Y 1C6; America/Toronto; fr
           Québec; QC; G1R 4P5; America/Toronto; fr""",
        "Bay Street|King Street West|Granville Street|Rue Sainte-Catherine",
        "{n} {street}",
        "+1 {a3} 555 {d4}",
    ),
    _country(
        "GB",
        12,
        "GBP:1",
        "en_GB",
        "EMEA",
        "UK & Ireland",
        2000,
        "Ltd|plc|LLP",
        _EN,
        """London; ; EC2V 7HH; Europe/London
           Manchester; ; M1 1AE; Europe/London
           Edinburgh; ; EH1 1YZ; Europe/London
           Bristol; ; BS1 4DJ; Europe/London
           Leeds; ; LS1 4DY; Europe/London
           Cambridge; ; CB2 1TN; Europe/London""",
        "High Street|Station Road|King's Road|Victoria Street|Church Lane",
        "{n} {street}",
        "+44 20 7946 {d4}",
    ),
    _country(
        "IE",
        3,
        "EUR:1",
        "en_IE",
        "EMEA",
        "UK & Ireland",
        2300,
        "Ltd|DAC|Teoranta",
        _EN,
        """Dublin; ; D02 X285; Europe/Dublin
           Cork; ; T12 X70A; Europe/Dublin
           Galway; ; H91 E2K3; Europe/Dublin""",
        "Grafton Street|O'Connell Street|Baggot Street",
        "{n} {street}",
        "+353 1 {d3} {d4}",
    ),
    _country(
        "DE",
        12,
        "EUR:1",
        "de_DE",
        "EMEA",
        "DACH",
        1900,
        "GmbH|AG|GmbH & Co. KG|SE",
        _DE,
        """Berlin; ; 10117; Europe/Berlin
           München; ; 80331; Europe/Berlin
           Hamburg; ; 20095; Europe/Berlin
           Frankfurt am Main; ; 60311; Europe/Berlin
           Köln; ; 50667; Europe/Berlin
           Stuttgart; ; 70173; Europe/Berlin
           Düsseldorf; ; 40213; Europe/Berlin
           Leipzig; ; 04109; Europe/Berlin""",
        "Hauptstraße|Bahnhofstraße|Industriestraße|Schillerstraße|Goethestraße",
        "{street} {n}",
        "+49 30 {d3} {d4}",
    ),
    _country(
        "AT",
        4,
        "EUR:1",
        "de_AT",
        "EMEA",
        "DACH",
        2000,
        "GmbH|AG|KG",
        _DE,
        """Wien; ; 1010; Europe/Vienna
           Graz; ; 8010; Europe/Vienna
           Linz; ; 4020; Europe/Vienna
           Salzburg; ; 5020; Europe/Vienna
           Innsbruck; ; 6020; Europe/Vienna""",
        "Mariahilfer Straße|Ringstraße|Hauptplatz|Bahnhofstraße",
        "{street} {n}",
        "+43 1 {d3} {d4}",
    ),
    _country(
        "CH",
        5,
        "CHF:5|EUR:1",
        "de_CH|fr_CH",
        "EMEA",
        "DACH",
        810,
        "AG|GmbH|SA|Sàrl",
        _DE,
        """Zürich; ; 8001; Europe/Zurich
           Basel; ; 4051; Europe/Zurich
           Bern; ; 3011; Europe/Zurich
           Luzern; ; 6003; Europe/Zurich
           Genève; ; 1204; Europe/Zurich; fr
           Lausanne; ; 1003; Europe/Zurich; fr""",
        "Bahnhofstrasse|Seestrasse|Rue du Rhône|Avenue de la Gare",
        "{street} {n}",
        "+41 44 {d3} {d2} {d2}",
    ),
    _country(
        "FR",
        10,
        "EUR:1",
        "fr_FR",
        "EMEA",
        "France",
        2000,
        "SAS|SA|SARL",
        _FR,
        """Paris; ; 75008; Europe/Paris
           Lyon; ; 69002; Europe/Paris
           Marseille; ; 13001; Europe/Paris
           Toulouse; ; 31000; Europe/Paris
           Bordeaux; ; 33000; Europe/Paris
           Lille; ; 59000; Europe/Paris
           Nantes; ; 44000; Europe/Paris
           Strasbourg; ; 67000; Europe/Paris""",
        "rue de la République|boulevard Haussmann|avenue Jean Jaurès|"
        "rue du Faubourg Saint-Honoré|quai de la Loire",
        "{n} {street}",
        "+33 1 {d2} {d2} {d2} {d2}",
    ),
    _country(
        "JP",
        7,
        "JPY:1",
        "ja_JP",
        "APAC",
        "APAC",
        1000,
        "K.K.|Co., Ltd.",
        _JA,
        """Chiyoda-ku, Tokyo; Tokyo; 100-0005; Asia/Tokyo
           Minato-ku, Tokyo; Tokyo; 105-0011; Asia/Tokyo
           Kita-ku, Osaka; Osaka; 530-0001; Asia/Tokyo
           Nishi-ku, Yokohama; Kanagawa; 220-0012; Asia/Tokyo
           Naka-ku, Nagoya; Aichi; 460-0008; Asia/Tokyo
           Chuo-ku, Fukuoka; Fukuoka; 810-0001; Asia/Tokyo""",
        "Marunouchi|Umeda|Sakae|Tenjin|Minatomirai|Shiba",
        "{street} {n}-{m}-{k}",
        "+81 3 {d4} {d4}",
    ),
    _country(
        "AU",
        6,
        "AUD:1",
        "en_AU",
        "APAC",
        "APAC",
        1000,
        "Pty Ltd|Ltd",
        _EN,
        """Sydney; NSW; 2000; Australia/Sydney
           Melbourne; VIC; 3000; Australia/Melbourne
           Brisbane; QLD; 4000; Australia/Brisbane
           Perth; WA; 6000; Australia/Perth
           Adelaide; SA; 5000; Australia/Adelaide""",
        "George Street|Collins Street|Queen Street|St Georges Terrace",
        "{n} {street}",
        "+61 2 {d4} {d4}",
    ),
    _country(
        "KW",
        3,
        "KWD:3|USD:1",
        "ar_KW",
        "Middle East",
        "Middle East",
        0,
        "W.L.L.|K.S.C.C.|Co.",
        _AR,
        """Kuwait City; Al Asimah; 13001; Asia/Kuwait
           Salmiya; Hawalli; 22001; Asia/Kuwait
           Hawalli; Hawalli; 32001; Asia/Kuwait
           Farwaniya; Al Farwaniyah; 81001; Asia/Kuwait""",
        "Arabian Gulf Street|Fahad Al-Salem Street|Salem Al-Mubarak Street",
        "Block {m}, {street} {n}",
        "+965 {d4} {d4}",
    ),
)
