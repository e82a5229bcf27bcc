#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit, BPF_PROG_TEST_RUN, netns/veth
# end to end and the iptables oracle. Needs root for the kernel tests (they skip otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
status=0
meson test -C build --print-errorlogs --num-processes 1 "$@" || status=$?

# One closing line with the number of test cases (GoogleTest's own totals, summed over suites).
log=build/meson-logs/testlog.txt
total() { awk -v tag="$1" 'index($0, tag) == 1 && $4 ~ /^[0-9]+$/ {s += $4} END {print s + 0}' "$log"; }
passed=$(total '[  PASSED  ] ')
failed=$(total '[  FAILED  ] ')
skipped=$(total '[  SKIPPED ] ')
if ((status != 0 && failed == 0)); then failed=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
