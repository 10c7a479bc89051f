"""The HTTP side of the benchmarks: ``arpolicy serve`` in a subprocess, and a light client.

The client is the standard library's ``http.client`` on one keep-alive connection per
thread: it costs a fraction of a millisecond a request, so the numbers measure the server
(the clients share the machine's two cores with it).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import ledger_db

BIN = Path(sys.executable).parent / "arpolicy"
SERVER: dict[str, int] = {}
"""The process id of the server :func:`served` runs."""
WARMUP = 50


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and its descendants so far."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    family, grown = {pid}, True
    while grown:
        more = {p for p, parent in parents.items() if parent in family} - family
        grown, family = bool(more), family | more
    return sum(used.get(p, 0.0) for p in family)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive connection with the API key."""

    def __init__(self, base: str, key: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    def request(self, method: str, path: str, body: Any = None) -> tuple[float, int, Any]:
        """(seconds, status, decoded JSON) of one request."""
        payload = None if body is None else json.dumps(body)
        t0 = time.perf_counter()
        self.conn.request(method, path, body=payload, headers=self.headers)
        response = self.conn.getresponse()
        raw = response.read()
        seconds = time.perf_counter() - t0
        return seconds, response.status, json.loads(raw) if raw else None

    def post(self, path: str, body: Any) -> tuple[float, int, Any]:
        return self.request("POST", path, body)

    def customer_ids(self, n: int) -> list[tuple[int, str]]:
        """(id, currency) of ``n`` customers spread over the table."""
        out: list[tuple[int, str]] = []
        cursor = None
        while len(out) < n:
            path = "/v1/customers?limit=500" + (f"&cursor={cursor}" if cursor else "")
            _, status, page = self.request("GET", path)
            if status != 200:
                raise SystemExit(f"GET {path}: {status} {page}")
            out += [(item["id"], item["currency"] or "USD") for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        return out


@contextmanager
def served(
    url: str, tenant: str, user: str, workers: int | None = None
) -> Iterator[tuple[str, str]]:
    """``arpolicy serve`` on the database at ``url`` until the block ends, with a new API key
    of ``user``: yields (base URL, key)."""
    env = {
        **os.environ,
        "ARPOLICY_DATABASE_URL": url,
        "ARPOLICY_TENANT": tenant,
        "ARPOLICY_RATE_LIMIT_PER_MINUTE": "0",
        "ARPOLICY_LOG_LEVEL": "warning",
        "ARPOLICY_NOW": ledger_db.started().isoformat(),
    }
    made = subprocess.run(
        [str(BIN), "keys", "create", "--user", user, "--name", "bench", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        raise SystemExit(f"arpolicy keys create failed: {made.stdout}{made.stderr}")
    key = json.loads(made.stdout)["key"]
    port = free_port()
    extra = ["--workers", str(workers)] if workers else []
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(
                    f"arpolicy serve exited: {proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                with Client(base, key) as c:
                    if c.request("GET", "/health")[1] == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("arpolicy serve did not answer /health within 60 s")
            time.sleep(0.2)
        SERVER["pid"] = proc.pid
        yield base, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def hammer(
    base: str, key: str, ids: list[tuple[int, str]], clients: int, total: int
) -> dict[str, Any]:
    """``total`` GET /v1/customers/{id} of random customers from ``clients`` threads (after
    a warm-up each): requests per second over the wall time, and latencies."""
    rnd = random.Random(5)
    picks = [rnd.choice(ids)[0] for _ in range(total + clients * WARMUP)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start = threading.Barrier(clients + 1)
    per = total // clients

    def worker(slot: int) -> None:
        mine = picks[slot::clients]
        with Client(base, key) as c:
            for cid in mine[:WARMUP]:
                c.request("GET", f"/v1/customers/{cid}")
            start.wait()
            for cid in mine[WARMUP : WARMUP + per]:
                seconds, status, body = c.request("GET", f"/v1/customers/{cid}")
                latencies[slot].append(seconds)
                if (status != 200 or not body.get("figures")) and len(failures) < 5:
                    failures.append(f"{status} {str(body)[:200]}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0, mine, theirs = time.perf_counter(), time.process_time(), cpu_seconds(SERVER["pid"])
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    server_cpu = cpu_seconds(SERVER["pid"]) - theirs
    client_cpu = time.process_time() - mine
    if failures:
        raise SystemExit(f"GET /v1/customers/{{id}} answered wrongly: {failures}")
    flat = sorted(x for per_client in latencies for x in per_client)
    return {
        "n": len(flat),
        "rps": round(len(flat) / wall, 1),
        "p50_ms": round(statistics.median(flat) * 1000, 2),
        "p99_ms": round(flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1000, 2),
        "server_cpu_ms": round(server_cpu / len(flat) * 1000, 2),
        "client_cpu_ms": round(client_cpu / len(flat) * 1000, 2),
    }
