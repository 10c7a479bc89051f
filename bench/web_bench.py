"""The web app's screens at scale (issue 14, "Fast at scale"): every screen's server time
p95 <= 150 ms with 100,000 customers and 1,000,000 invoices on SQLite.

The ledger is bench/ledger_db.py's (built once per size and schema, copied per run). The
bench gives its admin a password, serves the database with ``arpolicy serve`` (clock fixed
at the ledger's day), signs in through the form, and then asks for every screen the app
has: each GET page of ``arpolicy.web`` without path parameters, and the customer sheet
``/customers/{id}`` for random customers. One client, one request after another (so a
request's time is the server's, plus the loopback), ``--requests`` of each after 5 not
counted; every answer must be 200.

    python -m bench.web_bench                  # 100,000 customers, 1,000,000 invoices
    python -m bench.web_bench --customers 2000 --invoices 20000 --requests 20   # quick
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from typing import Any

from sqlalchemy import select, update

from arpolicy.auth.passwords import hash_password
from arpolicy.kit.db import make_engine, transaction
from arpolicy.models import Customer, User
from bench import ledger_db
from bench.http_load import served

PASSWORD = "bench-password-1"
TARGET_P95 = 150.0
WARMUP = 5
SKIP = ("/sign-in", "/sign-out", "/forgot", "/reset", "/invitation")
COMPUTATIONS = ("/reminders/today/run", "/reminders/forecast/days")
"""Parts a page loads after it opens (htmx): today's dry run and the 14-day forecast run
the engagement engine over the tenant (issue 20 is about their speed). Asked once each
(``--computations 0`` skips them); the target applies to them too and is reported."""
TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def stats(samples: list[float]) -> dict[str, Any]:
    flat = sorted(samples)
    return {
        "n": len(flat),
        "p50_ms": round(statistics.median(flat) * 1000, 2),
        "p95_ms": round(flat[min(len(flat) - 1, int(len(flat) * 0.95))] * 1000, 2),
        "max_ms": round(flat[-1] * 1000, 2),
    }


def screens() -> tuple[list[str], list[str]]:
    """(GET paths of the screens without parameters, those with) from the app's views."""
    from arpolicy.web.views import routers

    plain, with_params = [], []
    for router in routers():
        for route in router.routes:
            path = getattr(route, "path", "")
            if "GET" not in (getattr(route, "methods", None) or set()):
                continue
            if path.startswith(SKIP) or path.endswith(".csv"):
                continue
            (with_params if "{" in path else plain).append(path)
    return sorted(set(plain)), sorted(set(with_params))


class Browser:
    """One keep-alive connection with a signed-in session cookie."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=900)
        self.cookies: dict[str, str] = {}

    def get(self, path: str) -> tuple[float, int, str]:
        return self._send("GET", path, None)

    def _send(self, method: str, path: str, body: str | None) -> tuple[float, int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        t0 = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        raw = response.read().decode("utf-8", "replace")
        seconds = time.perf_counter() - t0
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0].strip('"')
        return seconds, response.status, raw

    def sign_in(self, email: str) -> None:
        from urllib.parse import urlencode

        _, _, form = self.get("/sign-in")
        token = TOKEN.search(form)
        assert token, "no form token on /sign-in"
        body = urlencode(
            {
                "csrf_token": token.group(1),
                "organisation": ledger_db.SLUG,
                "email": email,
                "password": PASSWORD,
            }
        )
        _, status, text = self._send("POST", "/sign-in", body)
        if status != 303:
            raise SystemExit(f"sign-in failed: {status} {text[:300]}")


def prepare(url: str, n: int) -> list[int]:
    """Give the admin a password and the tenant the example engagement cycles (as the demo
    has them); ``n`` random customer ids."""
    from arpolicy.cli.demo import install_example

    engine = make_engine(url)
    with transaction(engine) as db:
        install_example(db, ledger_db.SLUG, ledger_db.data.TODAY)
        db.execute(
            update(User)
            .where(User.email == ledger_db.ADMIN)
            .values(password_hash=hash_password(PASSWORD))
        )
        ids = list(db.scalars(select(Customer.id)))
    engine.dispose()
    return random.Random(7).sample(ids, min(n, len(ids)))


def snapshot_compute(url: str, runs: int = 3) -> dict[str, Any]:
    """Seconds to compute the bench tenant's figure snapshot (ledger/snapshot.py, ADR 0008):
    what the worker, "Refresh now" and a first view spend; each run in a read transaction."""
    from arpolicy.ledger.snapshot import compute
    from arpolicy.models import Tenant

    engine = make_engine(url)
    samples = []
    for _ in range(runs):
        with transaction(engine, write=False) as db:
            tenant = db.scalar(select(Tenant).where(Tenant.slug == ledger_db.SLUG))
            assert tenant is not None
            started = time.perf_counter()
            compute(db, tenant, ledger_db.data.TODAY, ledger_db.started())
            samples.append(time.perf_counter() - started)
    engine.dispose()
    result = {"what": "figure snapshot compute", **stats(samples)}
    print(f"{'figure snapshot compute':40} p50 {result['p50_ms']:8.2f} ms", flush=True)
    return result


def measure(url: str, requests: int, computations: int = 1) -> list[dict[str, Any]]:
    plain, with_params = screens()
    ids = prepare(url, requests + WARMUP)
    results = []
    with served(url, ledger_db.SLUG, ledger_db.ADMIN) as (base, _key):
        browser = Browser(base)
        browser.sign_in(ledger_db.ADMIN)
        paths = [(p, [p] * (requests + WARMUP)) for p in plain if p not in COMPUTATIONS]
        paths += [
            (p, [p] * (computations + 1)) for p in plain if p in COMPUTATIONS and computations
        ]
        if "/customers/{customer_id}" in with_params:
            paths.append(("/customers/{id}", [f"/customers/{i}" for i in ids]))
        if "/reminders/cycles/{name:path}" in with_params:
            cycle = ["/reminders/cycles/Standard"] * (requests + WARMUP)
            paths.append(("/reminders/cycles/Standard", cycle))
        for label, urls in paths:
            samples = []
            for i, path in enumerate(urls):
                seconds, status, text = browser.get(path)
                if status != 200:
                    raise SystemExit(f"GET {path}: {status} {text[:500]}")
                if i >= (1 if label in COMPUTATIONS else WARMUP):
                    samples.append(seconds)
            result = {"screen": label, **stats(samples)}
            result["verdict"] = "met" if result["p95_ms"] <= TARGET_P95 else "MISSED"
            results.append(result)
            print(
                f"{label:40} p50 {result['p50_ms']:8.2f} ms  p95 {result['p95_ms']:8.2f} ms  "
                f"max {result['max_ms']:8.2f} ms  {result['verdict']}",
                flush=True,
            )
        measured = ("/customers/{customer_id}", "/reminders/cycles/{name:path}")
        skipped = [p for p in with_params if p not in measured]
        if skipped:
            print("not measured (path parameters):", ", ".join(skipped))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.web_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=100, help="requests per screen (100)")
    ap.add_argument(
        "--computations", type=int, default=1, help="requests of the dry run and forecast (1)"
    )
    args = ap.parse_args(argv)
    url = ledger_db.sqlite_copy(args.customers, args.invoices, "web.db")
    snapshot = snapshot_compute(url)
    results = measure(url, args.requests, args.computations)
    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
        "python": sys.version.split()[0],
        "load_average": os.getloadavg(),
        "customers": args.customers,
        "invoices": args.invoices,
        "command": "python -m bench.web_bench " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    ledger_db.data.HERE.mkdir(exist_ok=True)
    (ledger_db.data.HERE / "web.json").write_text(
        json.dumps({"meta": meta, "results": results, "snapshot": snapshot}, indent=2)
    )
    missed = [r for r in results if r["verdict"] == "MISSED"]
    print("all screens met p95 <= 150 ms" if not missed else f"{len(missed)} screen(s) MISSED")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
