#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit, BPF_PROG_TEST_RUN, netns/veth
# end to end and the iptables oracle. Needs root for the kernel tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
meson test -C build --print-errorlogs --num-processes 1 "$@"
