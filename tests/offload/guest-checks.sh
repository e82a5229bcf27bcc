#!/bin/sh
# Runs inside the harness's qemu guest (busybox sh, root, bpffs at /sys/fs/bpf): loads
# netdevsim, makes a port and checks offload with xfw's objects and `xfw attach --mode offload`.
# Prints one "PASS name" / "FAIL name: why" line per check; exits with the number of failures.
echo "XFW-OFFLOAD-BEGIN"
failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }

insmod /modules/psample.ko && insmod /modules/netdevsim.ko || { echo "FAIL modules: cannot load netdevsim"; exit 1; }
echo "1 1" > /sys/bus/netdevsim/new_device
sleep 1
DEV=$(ls /sys/bus/netdevsim/devices/netdevsim1/net/ 2>/dev/null | head -1)
[ -n "$DEV" ] || { echo "FAIL netdevsim: no port appeared"; exit 1; }
/sbin/ip link set dev "$DEV" up
echo "netdevsim port: $DEV"

IP=/sbin/ip  # iproute2 (busybox sh would run its own "ip" applet)
X="xfw --bpffs /sys/fs/bpf/xfw --state-dir /tmp/xfw-state"
cat > /tmp/rules.v4 <<'EOF'
*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 22 -j DROP
COMMIT
EOF

# (1) xfw's offload object through iproute2: bound to the device, maps included.
if $X compile --rules /tmp/rules.v4 --target offload --profile netdevsim --stats -o /tmp/nsim.o &&
   $IP link set dev "$DEV" xdpoffload obj /tmp/nsim.o sec xdp; then
  if bpftool prog show | grep -q "offloaded_to $DEV"; then pass "ip-link-xdpoffload-obj"
  else fail "ip-link-xdpoffload-obj" "bpftool prog show has no offloaded_to $DEV"; bpftool prog show; fi
  # The object deployment's counters, found from the interface.
  if $X counters --iface "$DEV" --rules /tmp/rules.v4 >/tmp/obj-counters 2>&1; then pass "object-counters-by-iface"
  else fail "object-counters-by-iface" "$(cat /tmp/obj-counters)"; fi
  $IP link set dev "$DEV" xdpoffload off
else
  fail "ip-link-xdpoffload-obj" "compile or ip link failed"
fi

# (2) xfw attach --mode offload, next to a native program on the same port (xdpmulti).
$X restore /tmp/rules.v4 || fail "restore" "xfw restore failed"
if $X attach "$DEV" --mode offload; then
  if bpftool prog show | grep -q "offloaded_to $DEV"; then pass "xfw-attach-offload"
  else fail "xfw-attach-offload" "no offloaded program"; bpftool prog show; fi
  $X status | grep "$DEV" | grep -q "mode offload" && pass "status-shows-offload" ||
    { fail "status-shows-offload" "$($X status)"; }
else
  fail "xfw-attach-offload" "xfw attach --mode offload failed"
fi
if $X attach "$DEV" --mode native && $IP link show dev "$DEV" | grep -q xdpmulti; then pass "xdpmulti-native-and-offload"
else fail "xdpmulti-native-and-offload" "$($IP link show dev "$DEV")"; fi

# A ruleset change while offloaded: a new device-bound program swapped into the HW link, the
# device counter map kept (the same pinned generation).
hw_prog() { bpftool prog show | awk '/^[0-9]+:/ {id = $1} /offloaded_to/ {print id}'; }
before_id=$(hw_prog)
if $X -A INPUT -p udp --dport 53 -j DROP && [ -n "$(hw_prog)" ] && [ "$(hw_prog)" != "$before_id" ] &&
   [ "$(ls /sys/fs/bpf/xfw/offload/"$DEV" | grep -c counters)" = 1 ]; then pass "commit-while-offloaded"
else fail "commit-while-offloaded" "before=$before_id after=$(hw_prog) $(ls /sys/fs/bpf/xfw/offload/"$DEV")"; fi

# (3) Counters read back from the device map: netdevsim does not run offloaded programs on
# traffic, so known values are written into the device map (as the card would count) and
# `xfw counters` must find them at the right rules, added to the host map's counts (zero).
MAPID=$(bpftool map show | sed -n 's/^\([0-9]*\): .*name xfw_counters.*/\1/p' | while read -r id; do
  bpftool map show id "$id" | grep -q "offloaded_to $DEV" && echo "$id"; done | head -1)
if [ -z "$MAPID" ]; then
  fail "device-counters" "no offloaded xfw_counters map"; bpftool map show
else
  VSIZE=$(bpftool map show id "$MAPID" | sed -n 's/.*value \([0-9]*\)B.*/\1/p')
  PER=$((VSIZE / 16))
  le64() { v=$(printf "%016x" "$1"); i=16; out=""; while [ $i -gt 0 ]; do out="$out $(echo "$v" | cut -c$((i - 1))-$i)"; i=$((i - 2)); done; echo "$out"; }
  for entry in 0 1; do
    value=""
    k=0
    while [ $k -lt $PER ]; do
      slot=$((entry * PER + k))
      value="$value $(le64 $((1000 + slot))) $(le64 $((100000 + slot)))"
      k=$((k + 1))
    done
    bpftool map update id "$MAPID" key $entry 0 0 0 value hex $value || fail "device-counters" "bpftool map update failed"
  done
  # Slot 8 is the first rule; slot 2 the INPUT policy (xdp/plan.hpp).
  $X counters --json > /tmp/counters.json 2>&1
  if grep -q '"packets": *1008' /tmp/counters.json && grep -q '"bytes": *100008' /tmp/counters.json &&
     grep -q '"packets": *1002' /tmp/counters.json; then pass "device-counters"
  else fail "device-counters" "$(cat /tmp/counters.json)"; fi
  $X -L -v -n -x | grep -q "1008 *100008" && pass "list-sums-device-counters" ||
    fail "list-sums-device-counters" "$($X -L -v -n -x)"
fi

# (4) Programs the profile refuses never reach the kernel.
before=$(bpftool prog show | grep -c "offloaded_to")
{
  echo "*filter"; echo ":INPUT ACCEPT [0:0]"
  for p in $(seq 1000 1400); do echo "-A INPUT -p tcp --dport $p -j DROP"; done
  echo "COMMIT"
} > /tmp/too-long.v4
$X restore /tmp/too-long.v4 >/tmp/refused.txt 2>&1
rc=$?
after=$(bpftool prog show | grep -c "offloaded_to")
if [ $rc -eq 2 ] && grep -q "program-length" /tmp/refused.txt && [ "$before" = "$after" ] &&
   $X -S | grep -q "dport 22"; then pass "profile-violation-refused"
else fail "profile-violation-refused" "rc=$rc before=$before after=$after $(head -5 /tmp/refused.txt)"; fi
$X compile --rules /tmp/rules.v4 -o /tmp/native.o >/dev/null
$X check --target offload --profile netdevsim /tmp/native.o >/tmp/check.txt 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "PERCPU_ARRAY" /tmp/check.txt; then pass "check-refuses-native-object"
else fail "check-refuses-native-object" "rc=$rc $(cat /tmp/check.txt)"; fi

$X detach "$DEV" && ! bpftool prog show | grep -q "offloaded_to" && pass "detach" || fail "detach" "$(bpftool prog show)"
echo "failures: $failures"
exit $failures
