#!/usr/bin/env bash
# Offload end to end without an NFP card: Debian's 6.1 kernel booted in qemu (TCG) with the
# netdevsim module built out of tree, an initramfs holding xfw, iproute2 and bpftool, and the
# checks in guest-checks.sh run inside it against a netdevsim port:
#   (1) `ip link set dev X xdpoffload obj` with xfw's compiled object; bpftool shows offloaded_to
#   (2) `xfw attach X --mode offload` does the same
#   (3) counters are read back from the offloaded (device) maps
#   (4) a program that violates the profile is refused by xfw before it reaches the kernel
#
# Usage: harness.sh XFW_BINARY      (as root; meson test --suite offload runs it)
# Installs what it needs with apt (linux-image-amd64, linux-headers-amd64, linux-source-6.1,
# qemu-system-x86, busybox-static); the kernel, module and initramfs pieces are cached under
# $XFW_OFFLOAD_CACHE (default /var/cache/xfw-offload) so reruns only rebuild the initramfs.
# Exit 77 (skipped) with the reason when the packages cannot be installed or this is not root.
set -euo pipefail

XFW=${1:?usage: harness.sh XFW_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XFW_OFFLOAD_CACHE:-/var/cache/xfw-offload}
start=$(date +%s)
log() { echo "offload-harness: [$(( $(date +%s) - start ))s] $*"; }
skip() { echo "offload-harness: SKIP: $*"; exit 77; }

[[ $(id -u) -eq 0 ]] || skip "needs root (apt, module build, initramfs)"
[[ -x $XFW ]] || { echo "offload-harness: $XFW is not an executable" >&2; exit 1; }

packages=(linux-image-amd64 linux-headers-amd64 linux-source-6.1 qemu-system-x86 busybox-static cpio xz-utils kmod)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"${TMPDIR:-/tmp}/xfw-offload-apt.log" 2>&1; then
    skip "cannot install ${missing[*]} with apt (see ${TMPDIR:-/tmp}/xfw-offload-apt.log)"
  fi
fi

# The Debian kernel linux-image-amd64 points at, and its headers.
KVER=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | grep -o 'linux-image-[0-9][^ ,]*' | head -1 | sed 's/^linux-image-//')
[[ -n $KVER && -f /boot/vmlinuz-$KVER && -d /lib/modules/$KVER/build ]] ||
  skip "linux-image-amd64 installed no usable kernel ($KVER) with headers"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is missing"
log "kernel $KVER"

# netdevsim, built out of tree once per kernel version (Debian does not ship it).
mkdir -p "$CACHE/$KVER"
NSIM=$CACHE/$KVER/netdevsim.ko
if [[ ! -f $NSIM ]]; then
  log "building netdevsim for $KVER"
  src=$(mktemp -d "$CACHE/src.XXXXXX")
  trap 'rm -rf "$src"' EXIT
  tar -xf /usr/src/linux-source-6.1.tar.xz -C "$src" --wildcards 'linux-source-6.1/drivers/net/netdevsim/*'
  make -s -C "/lib/modules/$KVER/build" M="$src/linux-source-6.1/drivers/net/netdevsim" CONFIG_NETDEVSIM=m \
    -j"$(nproc)" modules >"$src/build.log" 2>&1 || { cat "$src/build.log" >&2; exit 1; }
  cp "$src/linux-source-6.1/drivers/net/netdevsim/netdevsim.ko" "$NSIM.tmp" && mv "$NSIM.tmp" "$NSIM"
  rm -rf "$src"
  trap - EXIT
fi
log "netdevsim module ready"

# The initramfs: busybox, xfw, ip, bpftool and their shared libraries, the modules, the checks.
work=$(mktemp -d "${TMPDIR:-/tmp}/xfw-offload.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,proc,sys,dev,tmp,run,etc,modules,xfw}
cp /bin/busybox "$root/bin/busybox"
for tool in sh mount umount mkdir cat echo ls grep sed awk sleep poweroff insmod printf head tail wc tr cut seq od rm mv cp dd find; do
  ln -sf busybox "$root/bin/$tool"
done
copy_with_libs() {
  local bin=$1 dest=$2
  cp "$bin" "$root/$dest"
  ldd "$bin" | grep -o '/[^ ]*' | while read -r lib; do
    [[ -f $lib ]] || continue
    mkdir -p "$root$(dirname "$lib")"
    [[ -f $root$lib ]] || cp -L "$lib" "$root$lib"
  done
}
copy_with_libs "$XFW" usr/bin/xfw
strip "$root/usr/bin/xfw" 2>/dev/null || true  # smaller initramfs, faster boot under TCG
copy_with_libs "$(command -v ip)" sbin/ip
copy_with_libs "$(command -v bpftool)" usr/sbin/bpftool
cp "/lib/modules/$KVER/kernel/net/psample/psample.ko" "$NSIM" "$root/modules/"
cp "$HERE/guest-checks.sh" "$root/xfw/guest-checks.sh"
cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
sh /xfw/guest-checks.sh
echo "XFW-OFFLOAD-DONE rc=$?"
poweroff -f
INIT
chmod +x "$root/init" "$root/xfw/guest-checks.sh"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"
log "initramfs $(( $(stat -c %s "$work/initramfs.cpio") / 1024 / 1024 )) MiB"

# Boot (TCG: nested KVM is not available on CI machines) and collect the checks' verdicts.
log "booting $KVER in qemu (TCG)"
timeout 300 qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic -no-reboot \
  -kernel "/boot/vmlinuz-$KVER" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3" >"$work/console.log" 2>&1 || true
sed -n '/XFW-OFFLOAD-BEGIN/,/XFW-OFFLOAD-DONE/p' "$work/console.log" | tr -d '\r'
if ! grep -q "XFW-OFFLOAD-DONE rc=0" "$work/console.log"; then
  echo "offload-harness: FAILED (console log follows)" >&2
  tr -d '\r' <"$work/console.log" | tail -60 >&2
  exit 1
fi
log "all offload checks passed"
