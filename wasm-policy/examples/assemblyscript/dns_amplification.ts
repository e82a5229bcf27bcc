// DNS amplification filter in AssemblyScript: the same policy as ../c/dns_amplification.c.
// Use as a match: `-m wasm --policy dns_amplification_as.wasm --buckets 3 -j DROP`
// (AssemblyScript cannot emit custom sections, so the buckets are declared on the rule:
// b0 = matched by size, b1 = matched as ANY, b2 = other port-53 UDP).
//
// Matches UDP datagrams from source port 53 (IPv4 or IPv6, up to two VLAN tags, IPv6 extension
// headers skipped as xfw_policy.h does) whose DNS payload is longer than 512 bytes, or that are
// responses whose first question asks for ANY (255).

@external("xfw", "load_u8") declare function load_u8(off: u32): u32;
@external("xfw", "load_u16") declare function load_u16(off: u32): u32;
@external("xfw", "pkt_len") declare function pkt_len(): u32;
@external("xfw", "count") declare function count(bucket: u32): void;

const BUCKET_LARGE: u32 = 0;
const BUCKET_ANY: u32 = 1;
const BUCKET_OK: u32 = 2;
const MAX_CLASSIC_PAYLOAD: u32 = 512;
const DNS_HEADER_LEN: u32 = 12;
const QTYPE_ANY: u32 = 255;
const MAX_LABELS: i32 = 64;

// Offset of the UDP header of a first-fragment UDP packet, or 0. Sets udpEnd to the end of the
// IP payload (clamped to the frame).
let udpEnd: u32 = 0;

function udpHeader(): u32 {
  const len = pkt_len();
  if (len < 14) return 0;
  let off: u32 = 12;
  let type = load_u16(off);
  for (let tags = 0; tags < 2; tags++) {
    if (type != 0x8100 && type != 0x88a8) break;
    if (len < off + 6) return 0;
    off += 4;
    type = load_u16(off);
  }
  const l3 = off + 2;
  let l4: u32 = 0;
  let proto: u32 = 0;
  let end: u32 = 0;
  if (type == 0x0800) {
    if (len < l3 + 20) return 0;
    const vihl = load_u8(l3);
    const ihl = (vihl & 0x0f) * 4;
    if ((vihl >> 4) != 4 || ihl < 20 || len < l3 + ihl) return 0;
    proto = load_u8(l3 + 9);
    end = l3 + load_u16(l3 + 2);
    if ((load_u16(l3 + 6) & 0x1fff) != 0) return 0;
    l4 = l3 + ihl;
  } else if (type == 0x86dd) {
    if (len < l3 + 40) return 0;
    if ((load_u8(l3) >> 4) != 6) return 0;
    end = l3 + 40 + load_u16(l3 + 4);
    proto = load_u8(l3 + 6);
    l4 = l3 + 40;
    for (let i = 0; i < 4; i++) {
      if (proto != 0 && proto != 43 && proto != 60 && proto != 44) break;
      if (len < l4 + 8) return 0;
      const next = load_u8(l4);
      if (proto == 44) {
        if ((load_u16(l4 + 2) & 0xfff8) != 0) return 0;
        l4 += 8;
      } else {
        l4 += 8 + 8 * load_u8(l4 + 1);
      }
      proto = next;
    }
  } else {
    return 0;
  }
  if (proto != 17) return 0;
  if (end > len) end = len;
  if (l4 + 8 > end) return 0;
  udpEnd = end;
  return l4;
}

// Offset of QTYPE of the question whose name starts at `qname`, or 0.
function qtypeOffset(qname: u32, end: u32): u32 {
  let off = qname;
  for (let i = 0; i < MAX_LABELS; i++) {
    if (off >= end) return 0;
    const len = load_u8(off);
    if (len == 0) return off + 3 <= end ? off + 1 : 0;
    if ((len & 0xc0) == 0xc0) return off + 4 <= end ? off + 2 : 0;
    if ((len & 0xc0) != 0) return 0;
    off += 1 + len;
  }
  return 0;
}

export function filter(): i32 {
  const udp = udpHeader();
  if (udp == 0) return 0;
  if (load_u16(udp) != 53) return 0;
  const dns = udp + 8;
  const end = udpEnd;
  const payload = end - dns;
  if (payload > MAX_CLASSIC_PAYLOAD) {
    count(BUCKET_LARGE);
    return 1;
  }
  if (payload >= DNS_HEADER_LEN) {
    const flags = load_u16(dns + 2);
    const qdcount = load_u16(dns + 4);
    if ((flags & 0x8000) != 0 && qdcount >= 1) {
      const qtype = qtypeOffset(dns + DNS_HEADER_LEN, end);
      if (qtype != 0 && load_u16(qtype) == QTYPE_ANY) {
        count(BUCKET_ANY);
        return 1;
      }
    }
  }
  count(BUCKET_OK);
  return 0;
}
