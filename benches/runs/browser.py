#!/usr/bin/env python3
"""Benchmark: `fetch = "browser"` against plain fetches of the same pages.

    benches/runs/browser.py [--pages 50] [--repeat 3] [--octofeed target/release/octofeed]

Writes N listing pages whose items a script renders from a JSON endpoint (as
fixtures/browser/listing.html does) and N static pages with the same items
already in the HTML, serves both from one local `python3 -m http.server`, and
times `octofeed run` (first run: empty store and output) over N browser
sources and over N plain sources, REPEAT times each. Peak memory is the
largest sum of the resident sets of octofeed and every process under it (the
browser's processes included, by PSS), sampled every 20 ms from /proc. Prints medians
and the browser/plain ratios. Needs Chromium on PATH.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ITEMS_PER_PAGE = 20


def events(page):
    return [{"slug": f"p{page}-e{n}", "title": f"Harbour event {n} of page {page}", "date": f"2024-05-{n % 28 + 1:02d}"}
            for n in range(ITEMS_PER_PAGE)]


def item_html(event):
    return (f'<li class="event"><h3><a href="/news/{event["slug"]}">{event["title"]}</a></h3>'
            f'<time datetime="{event["date"]}">{event["date"]}</time></li>')


SCRIPT = """<script>
fetch('/api/PAGE.json').then(r => r.json()).then(events => {
  const list = document.getElementById('events');
  for (const e of events) {
    const li = document.createElement('li'); li.className = 'event';
    li.innerHTML = '<h3><a href="/news/' + e.slug + '">' + e.title + '</a></h3><time datetime="' + e.date + '">' + e.date + '</time>';
    list.appendChild(li);
  }
});
</script>"""


def write_site(root, pages):
    os.makedirs(os.path.join(root, "api"))
    for page in range(pages):
        head = f"<!doctype html><html><head><meta charset=utf-8><title>Page {page}</title></head><body><h1>News {page}</h1>"
        with open(os.path.join(root, "api", f"{page}.json"), "w") as out:
            json.dump(events(page), out)
        with open(os.path.join(root, f"js-{page}.html"), "w") as out:
            out.write(head + '<ul id="events"></ul>' + SCRIPT.replace("PAGE", str(page)) + "</body></html>")
        with open(os.path.join(root, f"static-{page}.html"), "w") as out:
            out.write(head + '<ul id="events">' + "".join(map(item_html, events(page))) + "</ul></body></html>")


def config(folder, port, pages, kind):
    lines = ['[site]', 'title = "bench"', 'output_dir = "public"', 'store = "data/bench.db"', 'host_delay = "0s"',
             'per_host = 4', 'concurrency = 4', 'allow_private = true', '']
    for page in range(pages):
        lines += ['[[source]]', f'id = "{kind}-{page}"', f'url = "http://127.0.0.1:{port}/{kind}-{page}.html"',
                  'robots = false']
        if kind == "js":
            lines.append('fetch = "browser"')
        lines += ['[source.select]', 'item = "li.event"', 'title = "h3"', 'link = "a"', 'date = "time"', '']
    path = os.path.join(folder, "octofeed.toml")
    with open(path, "w") as out:
        out.write("\n".join(lines))
    return path


def tree_rss_kib(root_pid):
    """The proportional set size (PSS: shared pages split between the processes
    sharing them, so Chromium's many processes are not counted many times) of
    root_pid and all its descendants, in KiB."""
    children, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            with open(f"/proc/{entry}/smaps_rollup") as rollup:
                pss = next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
        except (OSError, IndexError, ValueError, StopIteration):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pss
    total, pending = 0, [root_pid]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending += children.get(pid, [])
    return total


def timed_run(octofeed, config_path):
    folder = os.path.dirname(config_path)
    for name in ("public", "data"):
        shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
    started = time.monotonic()
    run = subprocess.Popen([octofeed, "run", "-c", config_path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while run.poll() is None:
        peak = max(peak, tree_rss_kib(run.pid))
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        sys.exit(f"octofeed run failed ({run.returncode}): {run.stderr.read().decode()[-2000:]}")
    return elapsed, peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--octofeed", default="target/release/octofeed")
    args = parser.parse_args()
    if shutil.which("chromium") is None and shutil.which("google-chrome") is None:
        sys.exit("benches/runs/browser.py: needs Chromium on PATH (Debian: apt-get install chromium)")
    work = tempfile.mkdtemp(prefix="octofeed-browser-bench-")
    try:
        site = os.path.join(work, "www")
        write_site(site, args.pages)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                   "--directory", site], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            results = {}
            for kind in ("static", "js"):
                folder = os.path.join(work, kind)
                os.makedirs(folder)
                path = config(folder, port, args.pages, kind)
                runs = [timed_run(args.octofeed, path) for _ in range(args.repeat)]
                results[kind] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
                items = sum(len(json.load(open(os.path.join(folder, "public", f"{kind}-{n}", "feed.json")))["items"])
                            for n in range(args.pages))
                print(f"{kind:>6}: {args.pages} pages, {items} items; wall {results[kind][0]:.2f} s, "
                      f"peak {results[kind][1] / 1024:.1f} MiB (medians of {args.repeat})")
            (plain_time, plain_peak), (js_time, js_peak) = results["static"], results["js"]
            print(f"browser / plain: wall {js_time / plain_time:.1f}x, peak memory {js_peak / plain_peak:.1f}x")
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
