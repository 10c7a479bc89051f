"""Every built-in template's subject, for tenants with long and non-ASCII names, reads
back exactly from the message the worker hands over."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from arpolicy.engagement.templates import BUILTINS, render, sample_context
from tests.mail.support import subject_read_back


@pytest.mark.parametrize("language", ["de", "fr", "en"])
@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_subject_reads_back_exactly(name, language):
    sample = sample_context(date(2026, 3, 16))
    tenants = [
        "Demo Merchant",
        "Schäfer Feinmechanik GmbH",
        "Société Générale d'Équipement",
        "Müller & Söhne Industrieausrüstung und Präzisionswerkzeuge GmbH & Co. KG",
    ]
    for tenant in tenants:
        for invoices in (sample.invoices[:1], sample.invoices):
            ctx = replace(sample, tenant_name=tenant, invoices=invoices)
            subject = render(name, ctx, language).subject
            read, decoded, header = subject_read_back(subject)
            assert read == decoded == subject, header
            assert header.isascii()
