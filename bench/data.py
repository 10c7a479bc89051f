"""Deterministic bulk data for the benchmarks: customers and invoices as CSV files in the
importer's format, written straight with the csv module (fast, no database)."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).parent / ".data"
TODAY = date(2026, 11, 23)
"""The date every benchmark's data and reports are as of."""

CURRENCIES = ["USD"] * 6 + ["EUR"] * 2 + ["GBP", "JPY"]
COUNTRIES = {"USD": "US", "EUR": "DE", "GBP": "GB", "JPY": "JP"}


def write_customers(path: Path, n: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["external_id", "name", "country", "currency", "net_term_days"])
        for i in range(n):
            ccy = rnd.choice(CURRENCIES)
            w.writerow(
                [f"C{i:07d}", f"Customer {i}", COUNTRIES[ccy], ccy, rnd.choice((15, 30, 45))]
            )


def customer_currencies(n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        out.append(rnd.choice(CURRENCIES))
        rnd.choice((15, 30, 45))
    return out


def write_invoices(path: Path, n: int, customers: int, today: date, seed: int = 2) -> None:
    """``n`` invoices spread over ``customers``; ~40 % open, due dates from 60 days ahead to
    400 days ago, amounts in the customer's currency."""
    rnd = random.Random(seed)
    ccys = customer_currencies(customers)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["number", "customer", "currency", "amount", "balance", "document_date", "due_date"]
        )
        for i in range(n):
            c = rnd.randrange(customers)
            ccy = ccys[c]
            minor = rnd.randint(1_000, 5_000_000)
            due = today - timedelta(days=rnd.randint(-60, 400))
            balance = minor if rnd.random() < 0.4 else 0
            if ccy == "JPY":
                amount, bal = str(minor), str(balance)
            else:
                amount, bal = (
                    f"{minor // 100}.{minor % 100:02d}",
                    f"{balance // 100}.{balance % 100:02d}",
                )
            w.writerow(
                [
                    f"INV{i:08d}",
                    f"C{c:07d}",
                    ccy,
                    amount,
                    bal,
                    (due - timedelta(days=30)).isoformat(),
                    due.isoformat(),
                ]
            )


def write_rates(path: Path, today: date) -> None:
    """Monthly rates to USD from two years before ``today``."""
    base = {"EUR": "1.08", "GBP": "1.27", "JPY": "0.0067"}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["from_currency", "to_currency", "valid_on", "rate"])
        start = date(today.year - 2, 1, 1)
        for m in range(0, 36):
            on = date(start.year + (start.month - 1 + m) // 12, (start.month - 1 + m) % 12 + 1, 1)
            for ccy, rate in base.items():
                w.writerow([ccy, "USD", on.isoformat(), rate])


def prepare_files(customers: int, invoices: int) -> dict[str, Path]:
    """The CSV files of a data set under bench/.data, written once and reused."""
    HERE.mkdir(exist_ok=True)
    files = {
        "fx-rates": HERE / "fx-rates.csv",
        "customers": HERE / f"customers-{customers}.csv",
        "invoices": HERE / f"invoices-{customers}-{invoices}.csv",
    }
    if not files["fx-rates"].exists():
        write_rates(files["fx-rates"], TODAY)
    if not files["customers"].exists():
        write_customers(files["customers"], customers)
    if not files["invoices"].exists():
        print(f"generating {invoices:,} invoices ...", flush=True)
        write_invoices(files["invoices"], invoices, customers, TODAY)
    return files
