from pathlib import Path

from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.fields_doc import BEGIN, END, field_reference
from arpolicy.rules.catalogue import Level

DOC = Path(__file__).parents[2] / "docs" / "rules.md"


def test_docs_rules_lists_every_field_as_generated():
    text = DOC.read_text(encoding="utf-8")
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert generated == field_reference().strip(), (
        "run: python -m arpolicy.ledger.fields_doc docs/rules.md"
    )
    catalogue = catalogue_for("USD", [30, 60, 90, 120], [])
    for level in Level:
        for name in catalogue.level(level.value):
            if level is Level.CUSTOMER or not name.startswith("customer."):
                assert f"| `{name}` |" in generated
