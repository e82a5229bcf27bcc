/* SYN flood guard. Use as a match: `-m wasm --policy syn_flood_guard.wasm -j DROP`.
 *
 * Rate-limits TCP SYNs (SYN without ACK, IPv4) per source /24 with a token bucket per /24, and
 * counts every such SYN into one of 8 buckets chosen by a hash of the /24 (syn_h0 .. syn_h7), so
 * the counter exports show which part of the address space is sending.
 *
 * The ABI has no clock, so the guard measures time in SYNs: each CPU's instance keeps a SYN
 * counter in linear memory and a /24 earns one token per REFILL_SYNS SYNs seen (from anyone) on
 * that CPU, up to BURST. A /24 sending more than 1/REFILL_SYNS of the SYNs a CPU sees runs out of
 * tokens, and its further SYNs match (are dropped) until others' SYNs refill it. State is a
 * 256-slot table indexed by a hash of the /24; a /24 that takes over a slot from another starts
 * with a full bucket. Memory and globals are per CPU, so each CPU limits independently. */
#include "xfw_policy.h"

XFW_BUCKETS("syn_h0\nsyn_h1\nsyn_h2\nsyn_h3\nsyn_h4\nsyn_h5\nsyn_h6\nsyn_h7");

#define SLOTS 256u
#define BURST 8u
#define REFILL_SYNS 4u
#define HASH_BUCKETS 8u

struct slot {
    xfw_u32 prefix_plus_one; /* 0 = empty */
    xfw_u32 tokens;
    xfw_u32 stamp;           /* syn_clock when tokens were last refilled */
};

static struct slot slots[SLOTS];
static xfw_u32 syn_clock;

XFW_INLINE xfw_u32 hash24(xfw_u32 prefix) {
    xfw_u32 h = prefix * 0x9e3779b1u; /* Fibonacci hashing: the high bits mix all input bits */
    return h >> 24;
}

XFW_POLICY(filter) {
    struct xfw_packet p;
    if (!xfw_parse(XFW_CTX_ARG_ &p)) return 0;
    if (p.ip_version != 4 || p.l4 == 0 || p.l4_proto != XFW_IPPROTO_TCP) return 0;
    if ((xfw_tcp_flags(XFW_CTX_ARG_ &p) & (XFW_TCP_SYN | XFW_TCP_ACK)) != XFW_TCP_SYN) return 0;

    xfw_u32 prefix = xfw_ipv4_src(XFW_CTX_ARG_ &p) >> 8;
    xfw_u32 h = hash24(prefix);
    xfw_count(h % HASH_BUCKETS);

    xfw_u32 now = ++syn_clock;
    struct slot *s = &slots[h % SLOTS];
    if (s->prefix_plus_one != prefix + 1) {
        s->prefix_plus_one = prefix + 1;
        s->tokens = BURST;
        s->stamp = now;
    } else {
        xfw_u32 earned = (now - s->stamp) / REFILL_SYNS;
        if (earned) {
            s->stamp += earned * REFILL_SYNS;
            s->tokens = s->tokens + earned > BURST ? BURST : s->tokens + earned;
        }
    }
    if (s->tokens == 0) return 1;
    s->tokens--;
    return 0;
}
