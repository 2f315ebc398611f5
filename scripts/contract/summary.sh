#!/usr/bin/env bash
# The contract run's last step: turns schemathesis's report into one plain line for CI's log.
#   summary.sh REPORT SEED STATUS    (STATUS: schemathesis's exit code)
# On success it prints `contract: N cases, 0 failures, seed S` and nothing of the report, whose
# pytest-style closing line ("=== 1 warning in 37.60s ===") a reader of CI logs would take for a
# run of no tests. On failure the whole report goes to stderr, then one line saying why; exit 1.
set -uo pipefail
report=$1 seed=$2 status=$3

# "Test cases:" is followed by e.g. "1163 generated, 1163 passed, 20 skipped" or
# "888 generated, 9 found 9 unique failures, 18 skipped".
counts=$(grep -A1 -E '^Test cases:' "$report" 2>/dev/null | tail -n 1)
cases=$(sed -nE 's/^ *([0-9]+) generated.*/\1/p' <<<"$counts")
failures=$(sed -nE 's/.* ([0-9]+) unique failures?.*/\1/p' <<<"$counts")

if [ "$status" -eq 0 ] && [ -n "$cases" ] && [ -z "$failures" ]; then
  echo "contract: $cases cases, 0 failures, seed $seed"
  exit 0
fi
cat "$report" >&2
if [ "$status" -eq 0 ]; then
  echo "contract: schemathesis exited 0 but its report has no clean test-case count (report above)" >&2
elif [ -n "$cases" ]; then
  echo "contract: $cases cases, ${failures:-some} failures, seed $seed (exit $status; repeat with CONTRACT_SEED=$seed)" >&2
else
  echo "contract: schemathesis exited $status before counting test cases, seed $seed (report above)" >&2
fi
exit 1
