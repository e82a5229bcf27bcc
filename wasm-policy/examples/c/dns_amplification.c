/* DNS amplification filter. Use as a match: `-m wasm --policy dns_amplification.wasm -j DROP`.
 *
 * Matches (returns 1 for) UDP datagrams from source port 53, IPv4 or IPv6, that look like the
 * responses reflection attacks are made of:
 *   - a DNS payload longer than 512 bytes (the classic UDP limit: a resolver that did not ask
 *     for EDNS0 never receives more, and amplification answers are as large as possible), or
 *   - a response (QR set) whose first question has QTYPE ANY (255), whatever its size.
 * Everything else, including ordinary answers, non-DNS traffic and frames too short to tell,
 * does not match. A reply whose question cannot be read completely is not treated as ANY.
 *
 * Buckets: dns_large (matched by size), dns_any (matched as ANY), dns_ok (other port-53 UDP). */
#include "xfw_policy.h"

XFW_BUCKETS("dns_large\ndns_any\ndns_ok");

enum { kBucketLarge = 0, kBucketAny = 1, kBucketOk = 2 };
#define DNS_MAX_CLASSIC_PAYLOAD 512u
#define DNS_HEADER_LEN 12u
#define DNS_QTYPE_ANY 255u
#define DNS_MAX_LABELS 64

/* Offset of QTYPE of the first question starting at `qname`, or 0 when the name runs past
 * `end` or is malformed. Compression pointers end the name (2 bytes). */
XFW_INLINE xfw_u32 dns_qtype_offset(XFW_CTX_ xfw_u32 qname, xfw_u32 end) {
    xfw_u32 off = qname;
    for (int i = 0; i < DNS_MAX_LABELS; i++) {
        if (off >= end) return 0;
        xfw_u32 len = xfw_load_u8(off);
        if (len == 0) return off + 1 + 2 <= end ? off + 1 : 0;
        if ((len & 0xc0u) == 0xc0u) return off + 2 + 2 <= end ? off + 2 : 0;
        if ((len & 0xc0u) != 0) return 0; /* reserved label types */
        off += 1 + len;
    }
    return 0;
}

XFW_POLICY(filter) {
    struct xfw_packet p;
    if (!xfw_parse(XFW_CTX_ARG_ &p)) return 0;
    if (p.l4 == 0 || p.l4_proto != XFW_IPPROTO_UDP) return 0;
    if (xfw_load_u16(p.l4) != 53) return 0;
    xfw_u32 dns = p.l4 + 8;
    xfw_u32 end = p.l4 + p.l4_len;
    xfw_u32 payload = end - dns;
    if (payload > DNS_MAX_CLASSIC_PAYLOAD) {
        xfw_count(kBucketLarge);
        return 1;
    }
    if (payload >= DNS_HEADER_LEN) {
        xfw_u32 flags = xfw_load_u16(dns + 2);
        xfw_u32 qdcount = xfw_load_u16(dns + 4);
        if ((flags & 0x8000u) && qdcount >= 1) {
            xfw_u32 qtype = dns_qtype_offset(XFW_CTX_ARG_ dns + DNS_HEADER_LEN, end);
            if (qtype && xfw_load_u16(qtype) == DNS_QTYPE_ANY) {
                xfw_count(kBucketAny);
                return 1;
            }
        }
    }
    xfw_count(kBucketOk);
    return 0;
}
