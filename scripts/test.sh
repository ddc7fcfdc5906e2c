#!/usr/bin/env bash
# Runs every test suite. Installs PostgreSQL, Redis and promtool when missing; the test fixtures start throwaway
# instances of them on free loopback ports (or reuse PARLEY_TEST_POSTGRES / PARLEY_TEST_REDIS) and this
# script sweeps up whatever a crashed test process left behind (see docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

# promtool (Debian's prometheus package) validates the shipped alert rules; headless Chromium (driven by Playwright)
# checks CORS as a browser enforces it; the bench's plots draw their text in DejaVu Sans (fonts-dejavu-core).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null || ! command -v promtool >/dev/null \
  || ! [ -x /usr/bin/chromium ] || ! [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  echo "Installing PostgreSQL, Redis, promtool, Chromium and fonts..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql redis-server prometheus chromium fonts-dejavu-core >/dev/null
  pkill -x prometheus 2>/dev/null || true
fi

# Stops servers and removes directories the fixtures tagged (they normally clean up after themselves).
sweep() {
  for dir in /tmp/parley-test-srv-*; do
    [ -d "$dir" ] || continue
    if [ -f "$dir/data/postmaster.pid" ]; then
      runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | tail -1)/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -f "$dir/redis.pid" ]; then
      pid=$(cat "$dir/redis.pid")
      kill "$pid" 2>/dev/null || true
      # A stopping Redis still writes its log: removing the directory before it is gone fails (and failed a green run).
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir" || echo "warning: could not remove $dir" >&2
  done
}

results=$(mktemp -d)
trap 'sweep; rm -rf "$results"' EXIT

dotnet build Parley.slnx --nologo -v quiet
set +e
dotnet test Parley.slnx --no-build --nologo \
  --blame-hang-timeout 10m \
  --results-directory "$results" 2>&1 | tee "$results/output.txt"
status=${PIPESTATUS[0]}
set -e

# One closing line for humans and CI: totals across every test project.
awk '/(Passed|Failed)! +- Failed:/ {
  for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
} END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$results/output.txt"
exit "$status"
