#!/usr/bin/env python3
"""Workers on one PostgreSQL against one process on SQLite, on N sources (10,000
by default) served locally, all in one run on this machine.

Each case starts from an empty store and output folder and times the first
refresh of every source: `octofeed run` on SQLite, and 1, 2 and 4 `octofeed
worker` processes on one PostgreSQL (timed until the store has a success for
every source). It prints sources refreshed per second and each case's ratio
to one worker.

The pages (five items each) are spread over ORIGINS origins, each served by
benches/vs-rsspls/static_server.rs (std-only Rust, keep-alive), so per-host
politeness (per_host = 2, no delay) never caps the total: ORIGINS * 2 requests
may be in flight, more than 4 workers * concurrency 8 ask for.

usage: python3 benches/runs/workers.py [--sources N] [--workers 1 2 4] [--origins 25]
env:   OCTOFEED (binary; default: cargo build --release), OCTOFEED_BENCH_POSTGRES
       (a database the benchmark may make schemas in; default: scripts/test-postgres start),
       BENCH_WORK (default /tmp/octofeed-workers-bench)
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
WORK = Path(os.environ.get("BENCH_WORK", "/tmp/octofeed-workers-bench"))
FIRST_PORT = 18800

PAGE = """<!doctype html><html><head><title>Source {n}</title></head><body><ul>{items}</ul></body></html>"""
ITEM = """<li><a href="/item/{n}/{i}">Source {n}, news {i}</a> <span>{day} November 2026</span></li>"""


def octofeed_binary():
    if os.environ.get("OCTOFEED"):
        return os.environ["OCTOFEED"]
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return str(ROOT / "target/release/octofeed")


def postgres_url():
    if os.environ.get("OCTOFEED_BENCH_POSTGRES"):
        return os.environ["OCTOFEED_BENCH_POSTGRES"]
    started = subprocess.run(["bash", str(ROOT / "scripts/test-postgres"), "start"], check=True,
                             capture_output=True, text=True)
    return started.stdout.strip()


def psql(url, sql):
    done = subprocess.run(["psql", "-qtAX", url, "-c", sql], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def write_pages(www, sources):
    www.mkdir(parents=True, exist_ok=True)
    for n in range(sources):
        items = "".join(ITEM.format(n=n, i=i, day=1 + (n + i) % 28) for i in range(5))
        (www / f"s{n}.html").write_text(PAGE.format(n=n, items=items))


def start_servers(www, origins):
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "static_server"], cwd=ROOT, check=True)
    server = ROOT / "target/release/examples/static_server"
    return [subprocess.Popen([str(server), str(www), str(FIRST_PORT + k)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for k in range(origins)]


def write_config(folder, store, sources, origins):
    folder.mkdir(parents=True)
    lines = [
        "[site]", 'title = "Workers benchmark"', f'store = "{store}"', "concurrency = 8", "per_host = 2",
        'host_delay = "0s"', "retries = 0", "", "[defaults]", "robots = false", 'interval = "1h"', "",
    ]
    for n in range(sources):
        port = FIRST_PORT + n % origins
        lines += [
            "[[source]]", f'id = "s{n}"', f'url = "http://127.0.0.1:{port}/s{n}.html"', "[source.select]",
            'item = "li"', 'title = "a"', 'link = "a"', 'date = "span"', "",
        ]
    config = folder / "octofeed.toml"
    config.write_text("\n".join(lines))
    return config


def time_sqlite(binary, sources, origins):
    folder = WORK / "sqlite"
    config = write_config(folder, "data/octofeed.db", sources, origins)
    start = time.monotonic()
    subprocess.run([binary, "run", "-c", str(config)], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def time_workers(binary, url, workers, sources, origins):
    schema = f"bench_{workers}_{os.getpid()}"
    psql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    store = f"{url}{separator}options=-csearch_path%3D{schema}"
    config = write_config(WORK / f"workers-{workers}", store, sources, origins)
    counted = f"SELECT count(*) FROM {schema}.sources WHERE last_success IS NOT NULL"
    start = time.monotonic()
    processes = [subprocess.Popen([binary, "worker", "-c", str(config)], stdout=subprocess.DEVNULL)
                 for _ in range(workers)]
    try:
        while True:
            time.sleep(0.2)
            try:
                if int(psql(url, counted) or 0) >= sources:
                    return time.monotonic() - start
            except subprocess.CalledProcessError:
                pass  # the workers have not made the tables yet
            if any(process.poll() is not None for process in processes):
                sys.exit("a worker ended early")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait()
        psql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--origins", type=int, default=25)
    args = parser.parse_args()
    binary, url = octofeed_binary(), postgres_url()
    subprocess.run(["rm", "-rf", str(WORK / "sqlite")] + [str(p) for p in WORK.glob("workers-*")], check=True)
    WORK.mkdir(parents=True, exist_ok=True)
    write_pages(WORK / "www", args.sources)
    servers = start_servers(WORK / "www", args.origins)
    try:
        time.sleep(0.5)
        results = [("sqlite, 1 process (run)", time_sqlite(binary, args.sources, args.origins))]
        for workers in args.workers:
            results.append((f"postgres, {workers} worker(s)", time_workers(binary, url, workers, args.sources,
                                                                           args.origins)))
    finally:
        for server in servers:
            server.kill()
    one_worker = next((seconds for name, seconds in results if name.startswith("postgres, 1 ")), None)
    print(f"{args.sources} sources on {args.origins} origins, {os.cpu_count()} cores")
    print(f"{'case':<26} {'seconds':>8} {'sources/s':>10} {'vs 1 worker':>12}")
    for name, seconds in results:
        ratio = f"{one_worker / seconds:.2f}" if one_worker else "-"
        print(f"{name:<26} {seconds:>8.1f} {args.sources / seconds:>10.0f} {ratio:>12}")


if __name__ == "__main__":
    main()
