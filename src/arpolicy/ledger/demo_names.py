"""First and last names of the demo's people by language, re-exported by
:mod:`arpolicy.ledger.demo_data`."""

from __future__ import annotations

from arpolicy.ledger.demo_text import items

FIRST_NAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "en",
        items("""James|Mary|Robert|Patricia|John|Jennifer|Michael|Linda|David|Elizabeth|
                 William|Susan|Joseph|Jessica|Sarah|Daniel|Emily|Matthew|Olivia|Grace|Priya|
                 Wei|Aisha|Diego|Siobhán"""),
    ),
    (
        "de",
        items("""Lukas|Anna|Maximilian|Sophie|Felix|Marie|Jonas|Laura|Leon|Lena|Tobias|Julia|
                 Stefan|Katrin|Jürgen|Jörg|Sabine|Björn|Ute|Matthias"""),
    ),
    (
        "fr",
        items("""Camille|Léa|Louis|Chloé|Hugo|Manon|Gabriel|Inès|Jules|Théo|Élodie|Hélène|
                 François|Amélie|Benoît|Céline|Jérôme|Nathalie|Stéphane|Raphaël"""),
    ),
    (
        "ja",
        items("""Haruto|Yui|Sota|Hina|Yuto|Mei|Ren|Aoi|Takumi|Sakura|Kenji|Yuki|Hiroshi|Akiko|
                 Daiki|Naomi"""),
    ),
    (
        "ar",
        items("""Ahmad|Fatima|Mohammed|Noura|Abdullah|Maryam|Khalid|Sara|Yousef|Dana|Hamad|
                 Faisal|Latifa|Omar|Reem|Salem"""),
    ),
)
LAST_NAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "en",
        items("""Smith|Johnson|Williams|Brown|Jones|Garcia|Miller|Davis|Wilson|Anderson|Taylor|
                 Moore|Jackson|Lee|Thompson|Harris|Clark|Walker|O'Brien|Patel|Nguyen|Kim|
                 Murphy|Kelly"""),
    ),
    (
        "de",
        items("""Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|
                 Schäfer|Koch|Bauer|Richter|Klein|Wolf|Schröder|Neumann|Krüger|Köhler|Huber|
                 Gruber|Steiner"""),
    ),
    (
        "fr",
        items("""Martin|Bernard|Dubois|Thomas|Robert|Richard|Petit|Durand|Leroy|Moreau|
                 Lefèvre|Girard|Bonnet|Dupont|Lambert|Fontaine|Rousseau|Mercier|Chevalier|
                 Guérin"""),
    ),
    (
        "ja",
        items("""Sato|Suzuki|Takahashi|Tanaka|Watanabe|Ito|Yamamoto|Nakamura|Kobayashi|Kato|
                 Yoshida|Yamada|Sasaki|Inoue|Kimura|Hayashi"""),
    ),
    (
        "ar",
        items("""Al-Mutairi|Al-Ajmi|Al-Enezi|Al-Rashidi|Al-Shammari|Al-Azmi|Al-Otaibi|Al-Hajri|
                 Al-Kandari|Al-Fadhli|Al-Mulla|Al-Qattan|Al-Sayegh|Al-Jassim"""),
    ),
)
