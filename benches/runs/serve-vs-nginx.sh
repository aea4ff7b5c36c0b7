#!/usr/bin/env bash
# `octofeed serve` against nginx on the same published files, side by side in
# one run, loopback only: requests per second and p99 latency at several
# connection counts (wrk), and octofeed's memory before, at peak and after the
# load. Installs nginx-light and wrk from Debian's packages when missing (root).
#
#   benches/runs/serve-vs-nginx.sh                  # 100 and 1000 connections, 10 s each
#   CONNECTIONS="100 1000 5000" DURATION=20s benches/runs/serve-vs-nginx.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
CONNECTIONS=${CONNECTIONS:-"100 1000"}
DURATION=${DURATION:-10s}
FILE=${FILE:-octopus/rss.xml}
OCTOFEED_PORT=18080
NGINX_PORT=18081

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
  # Debian starts the packaged nginx on port 80; this benchmark runs its own.
  nginx -s stop 2>/dev/null || true
fi
cargo build --release --quiet
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/config"
cp config/offline.toml "$work/config/offline.toml"
ln -s "$PWD/fixtures" "$work/fixtures"
./target/release/octofeed run -c "$work/config/offline.toml" >/dev/null
public="$work/public-offline"
chmod -R a+rX "$work"   # nginx's workers run as an unprivileged user

cat >"$work/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 16384; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  types { application/rss+xml xml; application/feed+json json; text/html html; }
  server { listen 127.0.0.1:$NGINX_PORT; root $public; }
}
EOF
nginx -c "$work/nginx.conf" -p "$work"
./target/release/octofeed serve -c "$work/config/offline.toml" --listen "127.0.0.1:$OCTOFEED_PORT" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$OCTOFEED_PORT/$FILE" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$NGINX_PORT/$FILE" >/dev/null 2>&1 && break
  sleep 0.1
done

rss_mib() { awk -v key="$1" '$1 == key":" { printf "%.1f", $2 / 1024 }' "/proc/$serve_pid/status"; }

# wrk's requests/s and p99 latency in ms.
load() {
  wrk -t2 -c"$1" -d"$DURATION" --latency "http://127.0.0.1:$2/$FILE" 2>&1 | awk '
    /Requests\/sec/ { rps = $2 }
    /^ *99%/ { v = $2; ms = v + 0; if (v ~ /us$/) ms /= 1000; else if (v ~ /ms$/) ms += 0; else if (v ~ /s$/) ms *= 1000; p99 = ms }
    /Non-2xx|Socket errors/ { errors = errors " " $0 }
    END { printf "%.0f %.2f%s\n", rps, p99, errors }'
}

echo "file: $FILE ($(stat -c %s "$public/$FILE") bytes), $DURATION per run, $(nproc) cores, wrk -t2"
echo "octofeed memory before load: $(rss_mib VmRSS) MiB"
printf '%-12s %12s %12s %8s %12s %12s %8s\n' connections "nginx req/s" "octofeed" ratio "nginx p99" "octofeed" ratio
for c in $CONNECTIONS; do
  read -r nginx_rps nginx_p99 nginx_errors < <(load "$c" "$NGINX_PORT")
  read -r ours_rps ours_p99 ours_errors < <(load "$c" "$OCTOFEED_PORT")
  printf '%-12s %12s %12s %8s %10s ms %9s ms %8s\n' "$c" "$nginx_rps" "$ours_rps" \
    "$(awk -v a="$ours_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')" "$nginx_p99" "$ours_p99" \
    "$(awk -v a="$ours_p99" -v b="$nginx_p99" 'BEGIN { printf "%.2f", a / b }')"
  [ -n "$nginx_errors$ours_errors" ] && echo "  errors: nginx:${nginx_errors:- none} octofeed:${ours_errors:- none}"
done
echo "octofeed memory: peak $(rss_mib VmHWM) MiB"
sleep 3
echo "octofeed memory 3 s after the load: $(rss_mib VmRSS) MiB"
kill -TERM "$serve_pid"
wait "$serve_pid"
