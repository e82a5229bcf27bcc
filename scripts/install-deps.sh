#!/usr/bin/env bash
# Installs the Debian packages xfw needs to build, test and run its demo, if any is missing.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  libbpf-dev libxdp-dev libelf-dev zlib1g-dev
  libboost-program-options-dev nlohmann-json3-dev libpcap-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  iproute2 iptables nftables bpftool xdp-tools tcpdump iputils-ping netcat-openbsd
  linux-libc-dev
  libdpdk-dev dpdk-dev gnuplot-nox python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "xfw: missing packages: ${missing[*]}; run this as root (sudo) to install them" >&2
    exit 1
  fi
  echo "xfw: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
