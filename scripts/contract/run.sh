#!/usr/bin/env bash
# The contract run: schemathesis (PyPI, pinned in requirements.txt, installed into the git-ignored
# .venv) against the API served on its own throw-away embedded database, every check on, all four
# phases (examples, coverage, fuzzing, stateful); exceptions and their reasons are in
# schemathesis.toml and hooks.py. Exits non-zero on any failure. Used by .ci/run; run it by hand
# with `bash scripts/contract/run.sh` (CONTRACT_SEED=<n> repeats a run). The full report goes to
# .ci/logs/contract.log (git-ignored); summary.sh prints one line of it, or all of it on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/contract
venv=.venv
wanted=$(grep -E '^schemathesis==' "$here/requirements.txt")
if [ ! -x "$venv/bin/st" ] || [ "$("$venv/bin/pip" freeze 2>/dev/null | grep -E '^schemathesis==')" != "$wanted" ]; then
  python3 -m venv "$venv" || { echo "contract: python3 -m venv failed (install python3-venv)" >&2; exit 1; }
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --quiet -r "$here/requirements.txt" \
    || { echo "contract: installing $wanted from PyPI failed" >&2; exit 1; }
fi

port=${CONTRACT_PORT:-38131}
data=$(mktemp -d)
# Generous limits (rate, logins, requests in flight per client) and no shedding on event-loop lag
# (a loaded CI machine answered a request 503 overloaded once): one client sends thousands of
# requests, and the limits and load shedding have tests of their own.
env -u MONGODB_URI NODE_ENV=development LOG_LEVEL=warn PORT="$port" \
  EMBEDDED_PORT="${CONTRACT_EMBEDDED_PORT:-38132}" EMBEDDED_DATA_DIR="$data/db" \
  RATE_LIMIT_MAX=1000000 LOGIN_RATE_LIMIT_PER_ACCOUNT=100000 LOGIN_RATE_LIMIT_PER_ADDRESS=100000 \
  MAX_IN_FLIGHT_PER_CLIENT=10000 MAX_IN_FLIGHT=100000 MAX_EVENT_LOOP_LAG_MS=0 \
  node src/main.ts >"$data/app.log" 2>&1 &
app=$!
stop() {
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  rm -rf "$data"
}
trap stop EXIT

url="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -sf "$url/readyz" >/dev/null && break
  if ! kill -0 "$app" 2>/dev/null; then
    tail -20 "$data/app.log" >&2
    echo "contract: the API exited before it was ready" >&2
    exit 1
  fi
  sleep 1
done
curl -sf "$url/readyz" >/dev/null || { tail -20 "$data/app.log" >&2; echo "contract: the API was not ready in 120 s" >&2; exit 1; }

seed=${CONTRACT_SEED:-$((RANDOM * 32768 + RANDOM))}
mkdir -p .ci/logs
report=.ci/logs/contract.log
echo "contract: schemathesis $wanted against $url, seed $seed, report in $report"
status=0
CONTRACT_API_URL="$url" timeout 900 "$venv/bin/st" --no-color --config-file "$here/schemathesis.toml" \
  run --checks all --exclude-checks positive_data_acceptance --seed "$seed" "$url/openapi.json" \
  >"$report" 2>&1 || status=$?
bash "$here/summary.sh" "$report" "$seed" "$status"
