"""The problems validate() reports for a reminder template (syntax, unknown names, missing
parts, sandbox refusals), and the sample it renders them with. Pure: no database."""

from __future__ import annotations

from arpolicy.engagement.templates import sample_context, validate
from tests.engagement.test_templates import AS_OF


def test_validate_reports_a_syntax_error_with_its_line():
    problems = validate({"en": {"subject": "Hi", "text": "a\nb\n{% if invoices %}\nc"}})
    assert len(problems) == 1
    assert problems[0]["where"].startswith("templates.en.text line ")
    assert "endif" in problems[0]["what"] and problems[0]["fix"]
    bad_tag = validate({"en": {"subject": "Hi", "text": "a\n{{ invoices }\nc"}})
    assert bad_tag[0]["where"] == "templates.en.text line 2"


def test_validate_reports_unknown_variables_filters_and_attributes():
    templates = {
        "en": {
            "subject": "Invoice {{ invoice_number }}",
            "text": "Hello\n{% if contact_name %}{{ customer }}{% endif %}",
            "html": "<p>{{ invoices|first|attr('total')|monye }}</p>",
        },
        "de": {"subject": "Hallo", "text": "a\n\n{{ invoices[0].balanse|money }}"},
    }
    problems = validate(templates, where="reminders[1].template")
    assert problems == [
        {
            "where": "reminders[1].template.en.subject line 1",
            "what": "unknown variable 'invoice_number'",
            "fix": problems[0]["fix"],
        },
        {
            "where": "reminders[1].template.en.text line 2",
            "what": "unknown variable 'customer'",
            "fix": problems[1]["fix"],
        },
        {
            "where": "reminders[1].template.en.html line 1",
            "what": "unknown filter 'monye'",
            "fix": problems[2]["fix"],
        },
        {
            "where": "reminders[1].template.de.text line 3",
            "what": "an invoice line has no 'balanse'",
            "fix": problems[3]["fix"],
        },
    ]
    assert "customer_name" in problems[1]["fix"]
    assert "did you mean 'money'" in problems[2]["fix"]
    assert "did you mean 'balance'" in problems[3]["fix"]


def test_validate_reports_unknown_language_missing_parts_and_builtin_names():
    problems = validate({"xx": {"subject": "Hi", "text": "Hello"}, "fr": {"text": "", "body": "x"}})
    assert [(p["where"], p["what"]) for p in problems] == [
        ("templates.xx", "'xx' is not a language or locale code"),
        ("templates.fr.body", "unknown part 'body'"),
        ("templates.fr.subject", "the subject is missing"),
        ("templates.fr.text", "the text is empty"),
    ]
    assert all(p["fix"] for p in problems)
    assert validate("frendly")[0]["what"] == "there is no built-in template named 'frendly'"
    assert validate({})[0]["what"] == "no template is given"


def test_validate_reports_sandbox_refusals_and_empty_subjects():
    problems = validate({"en": {"subject": "{{ '' }}", "text": "a\n{{ ''.__class__ }}"}})
    assert [(p["where"], p["what"]) for p in problems] == [
        ("templates.en.subject", "the subject is empty once rendered"),
        ("templates.en.text line 2", "access to attribute '__class__' of 'str' object is unsafe."),
    ]


def test_validate_renders_the_branches_of_the_bare_sample():
    # the due date is None in the second sample: templates must cope with it
    problems = validate({"en": {"subject": "x", "text": "{{ invoices[0].due_on.year }}"}})
    assert [(p["where"], p["what"]) for p in problems] == [
        ("templates.en.text line 1", "'None' has no attribute 'year'")
    ]
    assert "{% if line.due_on %}" in problems[0]["fix"]


def test_sample_context_is_realistic():
    sample = sample_context(AS_OF)
    assert 2 <= len(sample.invoices) <= 3
    assert {i.balance.currency for i in sample.invoices} == {"EUR", "USD"}
    assert sample.statement is not None and len(sample.statement) > len(sample.invoices)
