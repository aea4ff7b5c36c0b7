#!/usr/bin/env bash
# octofeed vs rsspls 0.12 on N generated Liferay-like listing pages (N = 1, 50, 500 by
# default), served on 127.0.0.1 by static_server.rs beside this script (std-only Rust,
# keep-alive, ETag/Last-Modified and 304s; the `static_server` example of the crate). `python3 -m http.server`
# spends ~4 ms per request and would dominate both tools' times; set SERVER=python to
# use it anyway. For each N it times a first
# run (empty store and cache) and an unchanged second run of each tool, REPEAT times, and
# prints the medians, peak memory (/usr/bin/time) and the ratios rsspls / octofeed.
#
# octofeed writes RSS, Atom and JSON Feed for every page, plus index.html and feeds.opml;
# rsspls writes RSS only. The octofeed config turns politeness off to match rsspls, which
# has none: robots = false, host_delay = "0s", and per_host = concurrency = $CONCURRENCY.
# Both read the same fields (title, link, date, summary; octofeed also the place) with
# the same item selector.
#
# usage: benches/vs-rsspls/run.sh [N...]
# env:   SERVER (static or python), OCTOFEED (binary; default: cargo build --release), RSSPLS (default
#        /work/bench-tools/bin/rsspls), BENCH_WORK (default /tmp/octofeed-bench),
#        BENCH_PORT (default 8765), REPEAT (default 3), CONCURRENCY (default 16)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${BENCH_WORK:-/tmp/octofeed-bench}
PORT=${BENCH_PORT:-8765}
SERVER=${SERVER:-static}
REPEAT=${REPEAT:-3}
CONCURRENCY=${CONCURRENCY:-16}
RSSPLS=${RSSPLS:-/work/bench-tools/bin/rsspls}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1 50 500)

if [ -z "${OCTOFEED:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    OCTOFEED=${CARGO_TARGET_DIR:-$ROOT/target}/release/octofeed
fi
STATIC_SERVER=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/static_server
[ "$SERVER" = python ] || (cd "$ROOT" && cargo build --release --quiet --example static_server)
for tool in "$OCTOFEED" "$RSSPLS" /usr/bin/time; do
    [ -x "$tool" ] || { echo "missing: $tool" >&2; exit 2; }
done

max=0
for n in "${SIZES[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
mkdir -p "$WORK"
python3 "$ROOT/benches/vs-rsspls/generate.py" "$WORK/www" "$max"

if [ "$SERVER" = python ]; then
    python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/server.log" 2>&1 &
else
    "$STATIC_SERVER" "$WORK/www" "$PORT" >"$WORK/server.log" 2>&1 &
fi
server=$!
mkdir -p "$WORK/trash"
trap 'kill $server 2>/dev/null; rm -rf "$WORK/trash"' EXIT
for _ in $(seq 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/page-0001.html" && break
    sleep 0.1
done

# Writes both tools' configs for the first $1 pages into $WORK/n$1.
write_configs() {
    local n=$1 dir=$WORK/n$1
    mkdir -p "$dir"
    {
        printf '[site]\ntitle = "bench"\nbase_url = "https://feeds.example.org/"\n'
        printf 'output_dir = "public"\nstore = "octofeed.db"\n'
        printf 'concurrency = %d\nper_host = %d\nhost_delay = "0s"\n\n' "$CONCURRENCY" "$CONCURRENCY"
        printf '[defaults]\nrobots = false\ntimezone = "Europe/Paris"\n\n'
        for i in $(seq 1 "$n"); do
            printf '[[source]]\nid = "page-%04d"\nurl = "http://127.0.0.1:%d/page-%04d.html"\n' "$i" "$PORT" "$i"
            printf '[source.select]\nitem = ".portlet-asset-publisher div.element"\n'
            printf 'title = "h3"\nlink = "h3 a"\ndate = ".date"\nlocation = ".place"\nsummary = ".abstract"\n\n'
        done
    } >"$dir/octofeed.toml"
    {
        printf '[rsspls]\noutput = "%s/rsspls-out"\n\n' "$dir"
        for i in $(seq 1 "$n"); do
            printf '[[feed]]\ntitle = "page %d"\nfilename = "page-%04d.rss"\n' "$i" "$i"
            printf '[feed.config]\nurl = "http://127.0.0.1:%d/page-%04d.html"\n' "$PORT" "$i"
            printf 'item = ".portlet-asset-publisher div.element"\nheading = "h3"\nlink = "h3 a"\n'
            printf 'summary = ".abstract"\ndate = ".date"\n\n'
        done
    } >"$dir/rsspls.toml"
}

# Runs a command, printing "milliseconds peak_kib"; its output goes to $WORK/last.log.
measure() {
    local start end
    start=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$WORK/rss.txt" "$@" >"$WORK/last.log" 2>&1 || true
    end=$(date +%s%N)
    echo "$(((end - start) / 1000000)) $(tail -1 "$WORK/rss.txt")"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Empties a size's output, store and cache. They are moved aside and deleted at exit:
# files deleted just before a run make ext4 scan "recently deleted" inodes on every
# file creation, which would time the benchmark's own clean-up, not the tools.
clear_state() {
    local dir=$1 trash
    trash=$(mktemp -d "$WORK/trash/XXXXXX")
    for old in public octofeed.db octofeed.db-wal octofeed.db-shm rsspls-out cache; do
        [ -e "$dir/$old" ] && mv "$dir/$old" "$trash/"
    done
    mkdir -p "$dir/rsspls-out"
}

# One tool at one size: REPEAT pairs of (first run from nothing, unchanged second run).
# Prints "first_ms second_ms peak_kib" (medians; peak is the largest seen).
bench_tool() {
    local tool=$1 n=$2 dir=$WORK/n$2 firsts=() seconds=() peak=0 out ms kib
    for _ in $(seq "$REPEAT"); do
        clear_state "$dir"
        for pass in first second; do
            if [ "$tool" = octofeed ]; then
                out=$(measure "$OCTOFEED" run -c "$dir/octofeed.toml")
            else
                out=$(XDG_CACHE_HOME=$dir/cache measure "$RSSPLS" -c "$dir/rsspls.toml")
            fi
            read -r ms kib <<<"$out"
            [ "$kib" -gt "$peak" ] && peak=$kib
            if [ $pass = first ]; then firsts+=("$ms"); else seconds+=("$ms"); fi
        done
    done
    check_output "$tool" "$n"
    echo "$(printf '%s\n' "${firsts[@]}" | median) $(printf '%s\n' "${seconds[@]}" | median) $peak"
}

# Fails loudly when a tool did not write a feed for every page.
check_output() {
    local tool=$1 n=$2 dir=$WORK/n$2 count
    if [ "$tool" = octofeed ]; then
        count=$(find "$dir/public" -name 'rss.xml' -o -name 'atom.xml' -o -name 'feed.json' | wc -l)
        [ "$count" -eq $((3 * n)) ] || { echo "octofeed wrote $count feed files for $n pages" >&2; exit 1; }
    else
        count=$(find "$dir/rsspls-out" -name '*.rss' | wc -l)
        [ "$count" -eq "$n" ] || { echo "rsspls wrote $count feeds for $n pages" >&2; exit 1; }
    fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

printf '%5s | %21s | %21s | %19s\n' "N" "first run ms (o / r)" "second run ms (o / r)" "peak MiB (o / r)"
printf '%5s | %21s | %21s | %19s\n' "" "rsspls/octofeed" "rsspls/octofeed" ""
for n in "${SIZES[@]}"; do
    write_configs "$n"
    read -r o_first o_second o_peak <<<"$(bench_tool octofeed "$n")"
    read -r r_first r_second r_peak <<<"$(bench_tool rsspls "$n")"
    printf '%5d | %6d / %6d  x%5s | %6d / %6d  x%5s | %6.1f / %6.1f\n' "$n" \
        "$o_first" "$r_first" "$(ratio "$r_first" "$o_first")" \
        "$o_second" "$r_second" "$(ratio "$r_second" "$o_second")" \
        "$(awk -v k="$o_peak" 'BEGIN { print k / 1024 }')" "$(awk -v k="$r_peak" 'BEGIN { print k / 1024 }')"
done
