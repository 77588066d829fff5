#!/usr/bin/env bash
# Adds up dotnet test's per-assembly results into one closing line: "tests: N passed, N failed, N skipped".
# Minimal verbosity prints "Passed!  - Failed: F, Passed: P, Skipped: S, ..."; normal verbosity prints a
# "Total tests: / Passed: / Failed: / Skipped:" block instead. Both are counted.
set -u
log=${1:-.test-output.log}
[ -f "$log" ] || { echo "tests: 0 passed, 0 failed, 0 skipped"; exit 0; }
awk '
  /(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+/ {
    for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
    next
  }
  /^Total tests: [0-9]+/ { block = 1; next }
  block && /^ +Passed: [0-9]+/ { p += $2; next }
  block && /^ +Failed: [0-9]+/ { f += $2; next }
  block && /^ +Skipped: [0-9]+/ { s += $2; next }
  block && /^ +Total time:/ { block = 0 }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
