#!/usr/bin/env bash
# Runs every test suite. Needs only the .NET SDK today; engines that need servers install and start
# throwaway instances here (see docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

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
