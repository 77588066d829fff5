#!/usr/bin/env bash
# Adds up dotnet test's per-assembly result lines into one closing line: "tests: N passed, N failed".
set -u
log=${1:-.test-output.log}
[ -f "$log" ] || { echo "tests: 0 passed, 0 failed"; exit 0; }
grep -E '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+' "$log" | awk '
  { for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }'
