"""Discovery server benchmark: search and registration throughput, latency and memory.

Usage (about 5 minutes; needs `apt-get install -y wrk postgresql`):

    .venv/bin/python benches/discovery/run.py      # writes its section of docs/benchmarks.md

What it does, in one run on one machine:

1. Serves a Flask hello-world route with the production gunicorn configuration
   (servers/discovery/gunicorn.conf.py) and measures its peak throughput with
   wrk: the ceiling for any Flask endpoint here.
2. For SQLite and then PostgreSQL (a throwaway cluster with default durability
   settings): loads 100,000 signed listings, serves the discovery app exactly as
   in production (same gunicorn configuration, rate limits off so that one load
   generator is not throttled), and measures with wrk from a second process
   - search peak throughput, median and p99 latency, over a mix of queries;
   - search latency at half of that peak rate (wrk throttled per connection);
   - registrations per second, each a different pre-signed listing (so each
     is a full signature check, replay check and upsert);
   - the workers' resident memory after successive search rounds.
3. Writes a Markdown report with the exact command and the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import didrtc
from didrtc import Identity
from didrtc.discovery.listing import Listing, sign_listing
from didrtc.discovery.store import open_engine, upgrade
from didrtc.discovery.store.listings import listing_row
from didrtc.discovery.store.schema import listing_categories, listings
from report import host, write_section

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GUNICORN_CONF = ROOT / "servers" / "discovery" / "gunicorn.conf.py"

CATEGORIES = [
    "restaurant",
    "cafe",
    "bakery",
    "bar",
    "barber",
    "salon",
    "florist",
    "grocer",
    "butcher",
    "pharmacy",
    "clinic",
    "dentist",
    "gym",
    "yoga",
    "tailor",
    "cobbler",
    "locksmith",
    "plumber",
    "electrician",
    "mechanic",
    "bookshop",
    "library",
    "gallery",
    "museum",
    "cinema",
    "theatre",
    "hotel",
    "hostel",
    "laundry",
    "printer",
    "pet",
    "vet",
    "school",
    "tutor",
    "lawyer",
    "notary",
    "bank",
    "courier",
    "taxi",
    "garage",
]
CUISINES = [
    "korean",
    "thai",
    "italian",
    "french",
    "mexican",
    "indian",
    "japanese",
    "vegan",
    "greek",
    "turkish",
]
QUERIES = [
    "/search?query=restaurant",
    "/search?query=korean",
    "/search?query=cafe&category=cafe",
    "/search?query=fresh+bread",
    "/search?query=noodle",
    "/search?category=barber",
    "/search?query=open+late",
    "/search?query=garden&limit=50",
    "/search?query=zorblax",  # no match
    "/search?query=hand+made",
]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sa",
        "ti",
        "vo",
        "be",
        "da",
        "fe",
        "gi",
        "ho",
        "ju",
        "ki",
        "la",
        "ma",
        "no",
        "pe",
        "qu",
        "re",
        "si",
        "to",
    ]
    words = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(size)}
    return sorted(words)


COMMON = [
    "fresh",
    "bread",
    "noodle",
    "open",
    "late",
    "garden",
    "hand",
    "made",
    "coffee",
    "family",
    "friendly",
    "quiet",
    "cosy",
    "delivery",
    "takeaway",
    "seasonal",
    "local",
    "organic",
    "since",
    "repairs",
    "fast",
    "cheap",
    "best",
]


def make_listings(count: int, seed: int = 7) -> list[tuple[Listing, str]]:
    """``count`` signed listings of distinct DIDs with a realistic spread of words."""
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng, 5000)
    now = int(time.time())
    made = []
    for index in range(count):
        identity = Identity.generate()
        categories = rng.sample(CATEGORIES, rng.randint(1, 2))
        if "restaurant" in categories:
            categories.append(rng.choice(CUISINES))
        words = [rng.choice(vocabulary) for _ in range(rng.randint(6, 18))]
        words += rng.sample(COMMON, 2)
        rng.shuffle(words)
        listing = Listing.create(
            identity.did,
            name=f"{rng.choice(vocabulary).title()} {rng.choice(categories).title()} {index}",
            description=" ".join(words),
            categories=categories,
            bootstrap_nodes=[f"10.{index % 250}.{index % 199}.{index % 97}:4000"],
            service_endpoint=f"https://answerer-{index}.example/didrtc",
            lifetime=48 * 3600,
            now=now,
        )
        made.append((listing, sign_listing(identity, listing)))
    return made


def bulk_load(url: str, made: list[tuple[Listing, str]]) -> float:
    """Insert the listings in batches (the FTS triggers and indexes do their usual work)."""
    engine = open_engine(url)
    started = time.perf_counter()
    try:
        upgrade(engine)
        now = int(time.time())
        for start in range(0, len(made), 2000):
            chunk = made[start : start + 2000]
            rows, category_rows = [], []
            for offset, (listing, token) in enumerate(chunk):
                listing_id = start + offset + 1
                rows.append({"id": listing_id, **listing_row(listing, token, now)})
                category_rows += [
                    {"category": category, "listing_id": listing_id}
                    for category in listing.categories
                ]
            with engine.execution_options(didrtc_write=True).begin() as connection:
                connection.execute(insert(listings), rows)
                connection.execute(insert(listing_categories), category_rows)
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('discovery_listings', 'id'), "
                        "(SELECT max(id) FROM discovery_listings))"
                    )
                )
                connection.commit()
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM ANALYZE")
                )
            else:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
    finally:
        engine.dispose()
    return time.perf_counter() - started


def query_costs(url: str, rounds: int = 5) -> list[tuple[str, float, int]]:
    """Per query of the mix: the database's median time for one page, and how many match.

    Measured in this process against the store, without HTTP or Flask, so it shows
    how much of a search request is the database's ranking work.
    """
    from urllib.parse import parse_qs, urlsplit

    from didrtc.discovery.store import Store
    from didrtc.discovery.store.listings import search_terms

    engine = open_engine(url)
    store = Store(engine)
    costs = []
    try:
        for query in QUERIES:
            params = {key: values[0] for key, values in parse_qs(urlsplit(query).query).items()}
            terms = search_terms(params.get("query", ""))
            category = params.get("category")
            limit = int(params.get("limit", "20"))
            now = int(time.time())
            timings = []
            for _ in range(rounds):
                started = time.perf_counter()
                store.search(terms, category=category, limit=limit + 1, offset=0, now=now)
                timings.append((time.perf_counter() - started) * 1000)
            matches = len(store.search(terms, category=category, limit=100_000, offset=0, now=now))
            costs.append((query, sorted(timings)[rounds // 2], matches))
    finally:
        engine.dispose()
    return costs


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 with default durability settings."""
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="didrtc-bench-pg-"))
    (base / "sock").mkdir()

    def as_postgres(command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(base / "sock", "postgres")
    data = base / "data"
    subprocess.run(
        as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                     "-E", "UTF8", "--locale=C.UTF-8"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {base / 'sock'} -c max_connections=200"
    subprocess.run(
        as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
                     "-o", options, "start"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        subprocess.run(
            [sys.executable, "-c", f"import psycopg; psycopg.connect({admin!r}, autocommit=True)"
             ".execute('CREATE DATABASE discovery')"],
            check=True, timeout=60,
        )  # fmt: skip
        yield f"postgresql://postgres@127.0.0.1:{port}/discovery"
    finally:
        subprocess.run(
            as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""

    @property
    def log(self) -> list[str]:
        """The server's stderr so far (its JSON logs)."""
        return self.log_path.read_text(errors="replace").splitlines(keepends=True)

    def worker_rss_mib(self) -> float:
        """Resident memory of the gunicorn workers (the master's children), in MiB."""
        total = 0
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) != self.process.pid:
                    continue
                status = Path(stat).with_name("status").read_text()
            except (OSError, IndexError, ValueError):
                continue
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            if match:
                total += int(match.group(1))
        return total / 1024


_READY = re.compile(r"accepting connections on http://127\.0\.0\.1:(\d+)")


@contextlib.contextmanager
def gunicorn(chdir: Path, module: str, env: dict[str, str]) -> Iterator[Server]:
    """The production gunicorn configuration, bound to a free port on 127.0.0.1.

    Its stderr (a JSON access line per request) goes to a file, as in production:
    a pipe that this process had to keep draining would make the server's log
    writes wait on the load generator's machine share.
    """
    environment = {**os.environ, **env, "DIDRTC_DISCOVERY_BIND": "127.0.0.1:0"}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    workers = int(environment.get("DIDRTC_DISCOVERY_WORKERS", str(os.cpu_count() or 1)))
    log_dir = Path(tempfile.mkdtemp(prefix="didrtc-bench-log-"))
    log_path = log_dir / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--chdir", str(chdir),
             module],
            env=environment, stdout=subprocess.DEVNULL, stderr=log_file,
        )  # fmt: skip
    server = Server(process, log_path)
    try:
        for _ in range(1200):  # bounded: up to 120 s for every worker to listen
            ready = [match for line in server.log if (match := _READY.search(line))]
            if len(ready) >= workers:
                server.url = f"http://127.0.0.1:{ready[0][1]}"
                break
            if process.poll() is not None:
                break
            time.sleep(0.1)
        if not server.url:
            raise RuntimeError("gunicorn did not start:\n" + "".join(server.log[-40:]))
        _wait_ready(server.url)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        shutil.rmtree(log_dir, ignore_errors=True)


def _wait_ready(url: str) -> None:
    import urllib.request

    for _ in range(100):  # bounded: up to ~20 s
        try:
            with urllib.request.urlopen(url + "/openapi.json", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
        else:
            return
    # The hello-world app has no /openapi.json: a 404 answer also means it is up.


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    ok_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int


def wrk(
    url: str, script: Path | None, *, connections: int, seconds: int, env: dict[str, str]
) -> WrkResult:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=seconds + 60,
        check=True,
    ).stdout

    def latency(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        assert match, output
        return float(match[1]) * _UNITS[match[2]]

    total = int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    non_2xx = int(bad[1]) if bad else 0
    errors = re.search(r"Socket errors: (.*)", output)
    if errors:
        print(f"    wrk socket errors: {errors[1]}", flush=True)
    return WrkResult(
        requests_per_s=rate,
        ok_per_s=rate * (total - non_2xx) / total if total else 0.0,
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        non_2xx=non_2xx,
        requests=total,
    )


def bench_backend(
    name: str, url: str, made: list[tuple[Listing, str]], args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    print(f"[{name}] loading {len(made)} listings", flush=True)
    load_seconds = bulk_load(url, made)
    print(f"[{name}] loaded in {load_seconds:.1f} s", flush=True)
    queries = work / "queries.txt"
    queries.write_text("\n".join(QUERIES) + "\n")
    env = {
        "DIDRTC_DISCOVERY_DATABASE_URL": url,
        "DIDRTC_RATELIMIT_ENABLED": "false",
        "DIDRTC_DISCOVERY_DB_POOL_SIZE": "8",
    }
    results: dict[str, Any] = {"load_seconds": load_seconds, "costs": query_costs(url)}
    print(f"[{name}] database time per query {results['costs']}", flush=True)
    with gunicorn(ROOT / "servers" / "discovery", "wsgi:app", env) as server:
        search_env = {"WRK_QUERIES": str(queries)}
        wrk(server.url, HERE / "search.lua", connections=8, seconds=3, env=search_env)  # warm up
        peak = wrk(
            server.url, HERE / "search.lua", connections=args.connections,
            seconds=args.duration, env=search_env,
        )  # fmt: skip
        print(f"[{name}] search peak {peak}", flush=True)
        # Half the peak rate: each connection waits so that all together send peak/2 per second.
        half_connections = 16
        delay_ms = max(1, round(half_connections / (peak.requests_per_s / 2) * 1000))
        half = wrk(
            server.url, HERE / "search.lua", connections=half_connections, seconds=args.duration,
            env={**search_env, "WRK_DELAY_MS": str(delay_ms)},
        )  # fmt: skip
        print(f"[{name}] search at half rate {half}", flush=True)
        memory = [server.worker_rss_mib()]
        served = [0]
        for _round in range(3):
            result = wrk(
                server.url, HERE / "search.lua", connections=args.connections,
                seconds=args.duration, env=search_env,
            )  # fmt: skip
            served.append(served[-1] + result.requests)
            memory.append(server.worker_rss_mib())
        print(f"[{name}] memory {memory} after {served} requests", flush=True)

        count = int(max(peak.requests_per_s, 2000) * args.duration * 1.5)
        print(f"[{name}] signing {count} registrations", flush=True)
        tokens_file = work / f"tokens-{name}.txt"
        tokens_file.write_text(
            "\n".join(token for _, token in make_listings(count, seed=11)) + "\n"
        )
        registrations = wrk(
            server.url, HERE / "register.lua", connections=args.connections,
            seconds=args.duration, env={"WRK_TOKENS": str(tokens_file)},
        )  # fmt: skip
        print(f"[{name}] registrations {registrations}", flush=True)
        results.update(
            peak=peak,
            half=half,
            half_delay_ms=delay_ms,
            memory=memory,
            served=served,
            registrations=registrations,
            registration_tokens=count,
        )
    return results


def machine() -> str:
    pg = subprocess.run(
        [sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))[-1], "--version"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    wrk_name = wrk_version.stdout.split(" Copyright")[0].strip()
    return (
        f"{host()}; didrtc crypto backend `{didrtc.BACKEND}`, SQLite {sqlite3.sqlite_version}, "
        f"{pg}, {wrk_name}"
    )


def _row(label: str, result: WrkResult, ceiling: float | None) -> str:
    share = f"{result.requests_per_s / ceiling:.0%}" if ceiling else "—"
    return (
        f"| {label} | {result.requests_per_s:,.0f} | {share} | {result.p50_ms:.2f} | "
        f"{result.p99_ms:.2f} | {result.non_2xx} |"
    )


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every number here."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def report(
    args: argparse.Namespace,
    hello: WrkResult,
    backends: dict[str, dict[str, Any]],
    loads: list[str],
) -> str:
    workers = os.environ.get("DIDRTC_DISCOVERY_WORKERS", str(os.cpu_count() or 1))
    lines = [
        "## Discovery server",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with",
        "",
        "```",
        "apt-get install -y wrk postgresql",
        f".venv/bin/python benches/discovery/run.py --listings {args.listings} "
        f"--duration {args.duration} --connections {args.connections}"
        + (f" --out {args.out}" if args.out else ""),
        "```",
        "",
        f"Machine: {machine()}. 1-minute load average at the start, between backends and at "
        f"the end: {', '.join(loads)} (a load above the CPU count means other processes "
        "competed for the CPUs during the run).",
        "",
        f"Server: gunicorn with `servers/discovery/gunicorn.conf.py` ({workers} workers x 4 "
        "threads, gthread, one SO_REUSEPORT socket each), structured access logs on (to a "
        "file), rate limits off (one load generator "
        f"would otherwise be throttled); {args.listings:,} signed listings loaded. Load: wrk "
        f"from a second process, 1 thread, {args.connections} connections, {args.duration} s "
        "per measurement, over a mix of 10 queries (benches/discovery/run.py, QUERIES). Load "
        "generator and server share the machine's CPUs.",
        "",
        "| Endpoint | Requests/s | of hello-world | p50 ms | p99 ms | non-2xx |",
        "|---|---:|---:|---:|---:|---:|",
        _row("Flask hello-world (ceiling)", hello, None),
    ]
    for name, result in backends.items():
        lines.append(_row(f"search, {name}, peak", result["peak"], hello.requests_per_s))
        lines.append(
            _row(
                f"search, {name}, at half the peak rate",
                result["half"],
                hello.requests_per_s,
            )
        )
    lines += [
        "",
        "| Backend | Registrations/s (2xx) | p50 ms | p99 ms | non-2xx | "
        "Worker RSS after 0 / n / 2n / 3n searches (MiB) | Bulk load of listings |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for name, result in backends.items():
        registrations: WrkResult = result["registrations"]
        memory = " / ".join(f"{value:.0f}" for value in result["memory"])
        lines.append(
            f"| {name} | {registrations.ok_per_s:,.0f} | {registrations.p50_ms:.2f} | "
            f"{registrations.p99_ms:.2f} | {registrations.non_2xx} | {memory} "
            f"(n = {result['served'][1]:,}) | {result['load_seconds']:.0f} s |"
        )
    names = list(backends)
    lines += [
        "",
        "Database time for one page of each query of the mix (median of 5, measured in-process "
        "against the store, no HTTP), and how many live listings match it:",
        "",
        "| Query | " + " | ".join(f"{name} ms" for name in names) + " | Matches |",
        "|---|" + "---:|" * (len(names) + 1),
    ]
    for index, query in enumerate(QUERIES):
        cells = [f"{backends[name]['costs'][index][1]:.1f}" for name in names]
        matches = backends[names[0]]["costs"][index][2]
        lines.append(f"| `{query}` | " + " | ".join(cells) + f" | {matches:,} |")
    lines += ["", "Targets:", ""]
    for name, result in backends.items():
        share = result["peak"].requests_per_s / hello.requests_per_s
        registrations = result["registrations"]
        growth = result["memory"][-1] - result["memory"][1]
        lines += [
            f"- {name}: search throughput {share:.0%} of the hello-world ceiling "
            f"(target ≥ 50%: {'met' if share >= 0.5 else 'missed'}); p99 at half the peak rate "
            f"{result['half'].p99_ms:.1f} ms (target < 50 ms: "
            f"{'met' if result['half'].p99_ms < 50 else 'missed'}); "
            f"{registrations.ok_per_s:,.0f} registrations/s (target ≥ 1,000: "
            f"{'met' if registrations.ok_per_s >= 1000 else 'missed'}); worker memory "
            f"{growth:+.1f} MiB from the first to the last search round "
            f"({result['served'][-1] - result['served'][1]:,} more requests).",
        ]
    lines += [
        "",
        "What these rest on (docs/discovery.md has the details). Each worker listens on a "
        "socket of its own (SO_REUSEPORT): with gunicorn's one shared socket, one worker "
        "sometimes took every connection and a run measured half the machine. A search hit "
        "answers the page's cached JSON body, and a lapsed page is read from the database once "
        "however many threads ask for it. On SQLite, registrations that arrive together share "
        "one transaction (each in its own savepoint), queue on a lock that wakes the next "
        "writer at once, leave WAL checkpoints to a background thread, and run their "
        "statements on the driver's cursor; on PostgreSQL each is a single statement "
        "(data-modifying CTEs) run as its own transaction, one round trip, and pooled "
        "connections are checked on their socket instead of by a SELECT 1 before each request.",
    ]
    postgres = backends.get("PostgreSQL")
    if postgres is not None and postgres["registrations"].ok_per_s < 1000:
        lines += [
            "",
            "Where the PostgreSQL registrations fall short: the two CPUs are shared by the "
            "workers, wrk and the PostgreSQL backend processes, which parse, plan and index "
            "every statement of every registration (the listing's row and indexes, its "
            "tsvector in the GIN index, its categories and nonce) and flush the log at each "
            "commit. Tried and measured no faster: sharing transactions between a worker's "
            "requests (slower: PostgreSQL then runs fewer transactions side by side) and "
            "psycopg's pipeline mode (fewer round trips, the same CPU); what helped is one "
            "statement per registration, run in autocommit with no ping before it. On a "
            "machine where PostgreSQL has CPUs of its own, as in a deployment that outgrows "
            "SQLite, this share goes elsewhere.",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--out", default=None, help="write the report here instead of docs/benchmarks.md"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: apt-get install -y wrk")

    work = Path(tempfile.mkdtemp(prefix="didrtc-bench-discovery-"))
    loads = [load_average()]
    try:
        print(f"signing {args.listings} listings", flush=True)
        made = make_listings(args.listings)
        with gunicorn(HERE, "hello:app", {}) as server:
            wrk(server.url + "/hello", None, connections=8, seconds=3, env={})
            hello = wrk(
                server.url + "/hello", None, connections=args.connections,
                seconds=args.duration, env={},
            )  # fmt: skip
        print(f"hello-world {hello}", flush=True)
        backends: dict[str, dict[str, Any]] = {}
        for name in args.backends.split(","):
            if name == "sqlite":
                url = f"sqlite:///{work / 'bench.sqlite3'}"
                backends["SQLite"] = bench_backend("sqlite", url, made, args, work)
            elif name == "postgresql":
                with postgres_cluster() as url:
                    backends["PostgreSQL"] = bench_backend("postgresql", url, made, args, work)
            else:
                parser.error(f"unknown backend {name!r}")
            loads.append(load_average())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text_report = report(args, hello, backends, loads)
    if args.out is None:
        write_section("discovery", text_report)
    else:
        Path(args.out).write_text(text_report)
    print(text_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
