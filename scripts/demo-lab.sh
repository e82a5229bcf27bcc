#!/usr/bin/env bash
# The xfw demo lab: builds xfw, makes a veth pair with one end in a network namespace,
# attaches a sample ruleset in native XDP on the host end, sends real traffic from the
# namespace, prints `xfw -L -v -n` and cleans everything up. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then echo "demo-lab: run as root (sudo $0)" >&2; exit 1; fi
scripts/install-deps.sh
scripts/build.sh >/dev/null

XFW=$PWD/build/control/xfw
NS=xfwdemo
HOST_IF=xfwdemo0
NS_IF=xfwdemo1
BPFFS=/run/xfw-demo-bpf
STATE=$(mktemp -d /tmp/xfw-demo-state.XXXXXX)
xfw() { "$XFW" --bpffs "$BPFFS/xfw" --state-dir "$STATE" "$@"; }

cleanup() {
  set +e
  ip link del "$HOST_IF" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  if mountpoint -q "$BPFFS"; then umount "$BPFFS"; fi
  rmdir "$BPFFS" 2>/dev/null
  rm -rf "$STATE"
}
trap cleanup EXIT
cleanup 2>/dev/null || true
STATE=$(mktemp -d /tmp/xfw-demo-state.XXXXXX)

echo "== lab: $HOST_IF (host, XDP) <-> $NS_IF (namespace $NS)"
ip netns add "$NS"
ip link add "$HOST_IF" type veth peer name "$NS_IF"
ip link set "$NS_IF" netns "$NS"
ip addr add 10.199.0.1/24 dev "$HOST_IF"
ip -6 addr add fd00:199::1/64 dev "$HOST_IF" nodad
ip link set "$HOST_IF" up
ip netns exec "$NS" ip addr add 10.199.0.2/24 dev "$NS_IF"
ip netns exec "$NS" ip -6 addr add fd00:199::2/64 dev "$NS_IF" nodad
ip netns exec "$NS" ip link set "$NS_IF" up
ip netns exec "$NS" ip link set lo up
mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS"

echo "== ruleset"
xfw restore <<'RULES'
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:tenant-a - [0:0]
-A INPUT -p icmp -m icmp --icmp-type 8 -m comment --comment "ping v4" -j ACCEPT
-A INPUT -p ipv6-icmp -m comment --comment "ping and ND v6" -j ACCEPT
-A INPUT -s 10.199.0.2/32 -p udp -m udp --dport 5000:5999 -j tenant-a
-A INPUT -p udp -m multiport --dports 53,123 -j DROP
-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -j DROP
-A tenant-a -p udp -m udp --dport 5001 -m comment --comment "account=acme" -j DROP
-A tenant-a -p udp -m udp --dport 5002 -m comment --comment "account=globex"
COMMIT
RULES
xfw -S
xfw attach "$HOST_IF" --mode native
xfw status

echo "== traffic from the namespace"
ip netns exec "$NS" ping -c 5 -i 0.2 -q 10.199.0.1 || true
ip netns exec "$NS" ping -6 -c 3 -i 0.2 -q fd00:199::1 || true
send_udp() { # port count
  for _ in $(seq "$2"); do echo x | ip netns exec "$NS" nc -u -w0 10.199.0.1 "$1" 2>/dev/null || true; done
}
send_udp 5001 20
send_udp 5002 10
send_udp 53 7
send_udp 123 3
ip netns exec "$NS" nc -z -w1 10.199.0.1 22 2>/dev/null || true

echo "== xfw -L -v -n"
xfw -L -v -n
xfw detach "$HOST_IF"
echo "== done (lab removed)"
