#!/usr/bin/env bash
# Installs the Debian packages xfw needs to build, test and run its demo, if any is missing.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  libbpf-dev libxdp-dev libelf-dev zlib1g-dev
  libboost-program-options-dev nlohmann-json3-dev libpcap-dev libcpp-httplib-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  iproute2 iptables nftables ipset bpftool xdp-tools tcpdump iputils-ping netcat-openbsd
  linux-libc-dev wabt
  libdpdk-dev dpdk-dev gnuplot-nox python3
  clang-14 lld binaryen nodejs
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

# npm: Debian's nodejs package leaves it out (NodeSource's includes it), so Debian's npm only
# when there is none.
if ! command -v npm >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "xfw: npm is missing; run this as root (sudo) to install it" >&2
    exit 1
  fi
  echo "xfw: installing npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends npm
fi

# AssemblyScript for the example policies: the version package-lock.json pins, into the
# project-local node_modules the build uses (again whenever the lock file changes).
as_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/wasm-policy/examples/assemblyscript"
if ! cmp -s "$as_dir/package-lock.json" "$as_dir/node_modules/.xfw-installed-lock.json"; then
  echo "xfw: installing AssemblyScript (npm ci in wasm-policy/examples/assemblyscript)"
  (cd "$as_dir" && npm ci --no-audit --no-fund --loglevel=error &&
     cp package-lock.json node_modules/.xfw-installed-lock.json)
fi
