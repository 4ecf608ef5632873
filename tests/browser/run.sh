#!/usr/bin/env bash
# Browser tests: a real Chromium (Debian's /usr/bin/chromium, driven by
# Python Playwright) against a real `vigia serve`, with the real district
# boundaries and concessions loaded.
#
# Usage: tests/browser/run.sh [path/to/vigia [pytest options…]]
#   The binary defaults to ${CARGO_TARGET_DIR:-target}/debug/vigia; this
#   script builds nothing. It runs the suite on a fresh SQLite database, and
#   also on a fresh PostgreSQL database (created here, dropped afterwards)
#   when VIGIA_TEST_DATABASE_URL names a server, e.g.
#   postgres://postgres@127.0.0.1:5432/postgres.
#
# What it needs (tests/browser/setup.sh installs it; nothing is skipped when
# it is missing, the run fails):
#   VIGIA_CHROMIUM       the browser (default /usr/bin/chromium)
#   VIGIA_BROWSER_VENV   a venv with requirements.txt installed
#                        (default ${VIGIA_CI_CACHE:-~/.cache/vigia-ci}/venv)
#   VIGIA_AXE_DIR        where axe-core is installed from package-lock.json
#                        (default …/vigia-ci/axe; installed here if absent)
#   VIGIA_SHARED_DATA    the shared real data (default ../shared/data)
#   VIGIA_BROWSER_SHOTS  where screenshots go (default /tmp/vigia-browser-shots)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$root/target}/debug/vigia}
pytest_args=("${@:2}")

fail() { printf 'browser tests: %s\n' "$*" >&2; exit 1; }

[ -x "$bin" ] || fail "no vigia binary at $bin (run cargo build first)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

cache=${VIGIA_CI_CACHE:-$HOME/.cache/vigia-ci}
chromium=${VIGIA_CHROMIUM:-/usr/bin/chromium}
venv=${VIGIA_BROWSER_VENV:-$cache/venv}
axe_dir=${VIGIA_AXE_DIR:-$cache/axe}
# The shared data sits beside the checkout; a clone elsewhere (CI's) finds
# it at the workplace's fixed place.
data=${VIGIA_SHARED_DATA:-$root/../shared/data}
if [ -z "${VIGIA_SHARED_DATA:-}" ] && [ ! -d "$data" ] && [ -d /work/shared/data ]; then
  data=/work/shared/data
fi
shots=${VIGIA_BROWSER_SHOTS:-/tmp/vigia-browser-shots}

[ -x "$chromium" ] || fail "no Chromium at $chromium: install Debian's chromium (apt-get install chromium) or run tests/browser/setup.sh"
[ -x "$venv/bin/python" ] || fail "no Python venv at $venv: run tests/browser/setup.sh"
"$venv/bin/python" -c 'import playwright, pytest' 2>/dev/null \
  || fail "the venv $venv lacks playwright or pytest: run tests/browser/setup.sh"
for f in peru-districts.geojson ingemmet-concessions-utm17s.geojson; do
  [ -f "$data/$f" ] || fail "the shared data file $data/$f is missing (see ../shared/data/README.md); the browser tests need the real districts and concessions"
done

# axe-core, exactly the version package-lock.json names: installed into the
# cache now if it is not there (npm ci).
VIGIA_CI_CACHE=$cache VIGIA_AXE_DIR=$axe_dir "$here/setup.sh" axe
axe_js=$axe_dir/node_modules/axe-core/axe.min.js
[ -f "$axe_js" ] || fail "axe-core did not install into $axe_dir"

free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# What one database's run leaves behind, undone by cleanup (also on exit).
server_pid=""
work=""
pg_drop=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
  if [ -n "$pg_drop" ]; then
    psql "$pg_drop" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$pg_name\" WITH (FORCE)" >/dev/null || true
    pg_drop=""
  fi
  if [ -n "$work" ]; then
    rm -rf "$work"
    work=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

api() { # METHOD PATH [JSON]: prints the body, fails on an error status
  local method=$1 path=$2 body=${3:-}
  if [ -n "$body" ]; then
    curl -fsS -X "$method" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      --data "$body" "$base$path"
  else
    curl -fsS -X "$method" -H "Authorization: Bearer $key" "$base$path"
  fi
}
json_field() { "$venv/bin/python" -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

run_on() { # NAME DATABASE_URL
  local name=$1 url=$2 started=$SECONDS
  printf '\n--- browser tests on %s\n' "$name"
  local port
  port=$(free_port)
  base="http://127.0.0.1:$port"
  # Webhooks may reach 127.0.0.1: test_webhooks.py's receiver runs there.
  export VIGIA__DATABASE__URL=$url VIGIA__SERVER__BIND=127.0.0.1:$port \
    VIGIA__SERVER__PUBLIC_BASE_URL=$base VIGIA__WEB__TILE_URL= VIGIA__ALERTS__DELIVER=false \
    VIGIA__ALERTS__WEBHOOK_ALLOW_PRIVATE=true \
    VIGIA__PUBLIC__ENABLED=true VIGIA__PUBLIC__RATE_PER_MINUTE=100000 \
    RUST_LOG=${RUST_LOG:-warn}

  key=$("$bin" keys create --role admin --name seed 2>"$work/cli.log") || { cat "$work/cli.log" >&2; fail "vigia keys create failed"; }
  "$bin" import boundaries "$data/peru-districts.geojson" >"$work/import.log" 2>&1 \
    || { cat "$work/import.log" >&2; fail "importing the districts failed"; }
  "$bin" import concessions --crs EPSG:32717 "$data/ingemmet-concessions-utm17s.geojson" >>"$work/import.log" 2>&1 \
    || { cat "$work/import.log" >&2; fail "importing the concessions failed"; }
  grep -h 'read' "$work/import.log" | sed 's/^/  /'

  "$bin" serve >"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    curl -fs "$base/readyz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "vigia serve exited"; }
    sleep 0.1
  done
  curl -fs "$base/readyz" >/dev/null || { cat "$work/serve.log" >&2; fail "vigia serve is not ready at $base"; }

  local actor concession
  actor=$(api POST /api/v1/actors \
    '{"name": "Southern Perú Copper Corporation", "aliases": ["SPCC"], "kind": "company"}' | json_field id) \
    || fail "creating the actor SPCC through the API failed"
  # The Los Chancas concessions lie in UTM zone 18S, which the shared file
  # does not cover: one square around the camp, through the API.
  concession=$(api POST /api/v1/concessions \
    '{"code": "LC-0001", "name": "LOS CHANCAS 1", "holder_name": "Southern Perú Copper Corporation",
      "geometry": {"type": "Polygon", "coordinates": [[[-73.11, -14.24], [-73.07, -14.24], [-73.07, -14.20], [-73.11, -14.20], [-73.11, -14.24]]]}}' \
    | json_field id) || fail "creating the Los Chancas concession through the API failed"
  local admin_link monitor_link
  admin_link=$("$bin" users create --email ana.quispe@example.org --role admin --name "Ana Quispe" 2>>"$work/cli.log") \
    || { cat "$work/cli.log" >&2; fail "vigia users create failed"; }
  monitor_link=$("$bin" users create --email ben.mamani@example.org --role monitor --name "Ben Mamani" 2>>"$work/cli.log") \
    || { cat "$work/cli.log" >&2; fail "vigia users create failed"; }

  mkdir -p "$shots/$name"
  local status=0
  VIGIA_BASE_URL=$base VIGIA_API_KEY=$key VIGIA_ADMIN_LINK=$admin_link VIGIA_MONITOR_LINK=$monitor_link \
    VIGIA_ACTOR_ID=$actor VIGIA_CONCESSION_ID=$concession VIGIA_CHROMIUM=$chromium VIGIA_AXE_JS=$axe_js \
    VIGIA_SHOTS=$shots/$name VIGIA_BIN=$bin \
    "$venv/bin/python" -m pytest -c "$here/pytest.ini" -v "$here" "${pytest_args[@]}" || status=$?

  if grep -q 'panicked' "$work/serve.log"; then
    echo "the server panicked:" >&2
    cat "$work/serve.log" >&2
    status=1
  fi
  if [ "$status" -ne 0 ]; then
    echo "--- the server's log ($name):" >&2
    tail -n 50 "$work/serve.log" >&2
  fi
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  printf -- '--- %s: %s in %ss; screenshots in %s\n' "$name" \
    "$([ "$status" -eq 0 ] && echo passed || echo FAILED)" "$((SECONDS - started))" "$shots/$name"
  return "$status"
}

overall=0

work=$(mktemp -d)
run_on sqlite "sqlite://$work/browser.db" || overall=1
cleanup

if [ -n "${VIGIA_TEST_DATABASE_URL:-}" ]; then
  command -v psql >/dev/null 2>&1 || fail "VIGIA_TEST_DATABASE_URL is set but psql is missing"
  work=$(mktemp -d)
  pg_name="vigia_browser_$$_$(date +%s)"
  psql "$VIGIA_TEST_DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$pg_name\"" >/dev/null \
    || fail "could not create database $pg_name on $VIGIA_TEST_DATABASE_URL"
  pg_drop=$VIGIA_TEST_DATABASE_URL
  # The same server, the new database's name in place of the last path segment.
  run_on postgresql "${VIGIA_TEST_DATABASE_URL%/*}/$pg_name" || overall=1
  cleanup
fi

exit "$overall"
