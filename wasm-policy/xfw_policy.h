/* xfw policy ABI v1 for C authors (docs/policy-abi.md, docs/wasm-authoring.md).
 *
 * A policy is a function of type () -> i32 exported from a Wasm module. It reads the frame through
 * the imports of module "xfw" (big-endian loads at byte offsets from the start of the Ethernet
 * header; a load past the end of the frame traps and the packet is dropped), may count the frame
 * into the policy's billing buckets, and returns:
 *   - used as a match (-m wasm):  nonzero = the rule matches;
 *   - used as a target (-j WASM): XFW_ABORTED, XFW_DROP, XFW_PASS or XFW_CONTINUE.
 *
 * Build (C, clang 14 + lld 14):
 *   clang --target=wasm32 -nostdlib -O2 -I wasm-policy -Wl,--no-entry -Wl,--export=filter \
 *     -Wl,-z,stack-size=4096 -Wl,--initial-memory=65536 -Wl,--max-memory=65536 -o p.wasm p.c
 *
 * Writing a policy:
 *   #include "xfw_policy.h"
 *   XFW_BUCKETS("dns\nother");
 *   XFW_POLICY(filter) {
 *       struct xfw_packet p;
 *       if (!xfw_parse(XFW_CTX_ARG_ &p)) return 0;
 *       ...
 *   }
 *
 * The same source also builds natively with `clang -target bpf` (xfw's benchmark of Wasm against
 * hand-built eBPF does this): there the imports become bounds-checked reads of the XDP frame and
 * the policy function takes a hidden context argument. That is why XFW_POLICY declares the
 * function, and why your own helper functions that read the packet declare XFW_CTX (or XFW_CTX_
 * followed by more parameters) and are called with XFW_CTX_ARG (or XFW_CTX_ARG_ followed by more
 * arguments). Policies built only for Wasm may ignore this and write `(void)` / `()`.
 */
#ifndef XFW_POLICY_H
#define XFW_POLICY_H

/* Fixed-width types without a C library (-nostdlib, no sysroot). */
typedef unsigned char xfw_u8;
typedef unsigned short xfw_u16;
typedef unsigned int xfw_u32;
typedef unsigned long long xfw_u64;
typedef int xfw_i32;
typedef long long xfw_i64;
_Static_assert(sizeof(xfw_u32) == 4 && sizeof(xfw_u64) == 8 && sizeof(xfw_u16) == 2, "xfw_policy.h: unexpected type sizes");

/* ---- Verdicts (-j WASM) --------------------------------------------------------------------- */
#define XFW_ABORTED 0   /* XDP_ABORTED */
#define XFW_DROP 1      /* XDP_DROP */
#define XFW_PASS 2      /* XDP_PASS */
#define XFW_CONTINUE (-1) /* go on with the next rule */

/* ---- Buckets -------------------------------------------------------------------------------- */
/* Declares the policy's billing buckets: names separated by '\n', each [A-Za-z0-9_.:-]{1,64},
 * unique, at most 64. count(i) counts into the i-th name. An assembler section whose name starts
 * with ".custom_section." becomes the custom section named by the rest (here "xfw.buckets"). It
 * is written in file-scope assembly because clang 14 turns a C array with that section attribute
 * into a data segment, which wasm-ld then drops. `names` must be one string literal. */
#if defined(__wasm__)
#define XFW_BUCKETS(names) \
    __asm__(".section .custom_section.xfw.buckets,\"\",@\n.ascii " #names "\n.text")
#else
/* Native build: the program that includes the policy sizes its bucket map itself. */
#define XFW_BUCKETS(names) \
    __attribute__((unused)) static const char xfw_buckets_names_[] = names
#endif

#if defined(__wasm__)
/* ---- The imports (module "xfw") -------------------------------------------------------------- */
#define XFW_IMPORT(name) __attribute__((import_module("xfw"), import_name(#name)))
XFW_IMPORT(load_u8) xfw_u32 xfw_load_u8(xfw_u32 off);
XFW_IMPORT(load_u16) xfw_u32 xfw_load_u16(xfw_u32 off);
XFW_IMPORT(load_u32) xfw_u32 xfw_load_u32(xfw_u32 off);
XFW_IMPORT(load_u64) xfw_u64 xfw_load_u64(xfw_u32 off);
XFW_IMPORT(pkt_len) xfw_u32 xfw_pkt_len(void);
XFW_IMPORT(ifindex) xfw_u32 xfw_ifindex(void);
XFW_IMPORT(count) void xfw_count(xfw_u32 bucket);

/* Exports `fn` under `name` (use with a function of type () -> i32). */
#define XFW_EXPORT(name) __attribute__((export_name(#name)))
/* Defines the exported policy function `name`. */
#define XFW_POLICY(name) XFW_EXPORT(name) xfw_i32 name(void)

#define XFW_CTX void
#define XFW_CTX_
#define XFW_CTX_ARG
#define XFW_CTX_ARG_
#define XFW_INLINE static inline __attribute__((always_inline))

#elif defined(__bpf__)
/* ---- Native build: the ABI mapped onto an XDP frame (benchmark shim) ------------------------- */
/* Semantics kept: big-endian loads, bounds checks against the frame end, the ingress ifindex,
 * per-bucket packet and byte counts. A load out of range records trap 5 and returns 0; the
 * caller drops a frame whose run trapped (Wasm stops at the trap; here the policy runs to its
 * end, which differs only in counts made after the trap). */
struct xfw_native_ctx {
    const xfw_u8 *data;
    const xfw_u8 *data_end;
    xfw_u32 ifindex;
    xfw_u32 trap;
    void *buckets;       /* per-CPU ARRAY of struct xfw_native_bucket, or 0 */
    xfw_u32 bucket_count;
};
struct xfw_native_bucket { xfw_u64 packets, bytes; };

#define XFW_INLINE static inline __attribute__((always_inline))
#define XFW_CTX struct xfw_native_ctx *xfw_ctx
#define XFW_CTX_ struct xfw_native_ctx *xfw_ctx,
#define XFW_CTX_ARG xfw_ctx
#define XFW_CTX_ARG_ xfw_ctx,
#define XFW_EXPORT(name)
#define XFW_POLICY(name) XFW_INLINE xfw_i32 name(struct xfw_native_ctx *xfw_ctx)

/* Frames are at most 64 KiB: bounding the offset first lets the verifier accept the pointer
 * arithmetic; the end comparison then proves the read. */
#define XFW_NATIVE_LOAD_(width, expr)                                               \
    do {                                                                            \
        if (off > 0xffff) { xfw_ctx->trap = 5; return 0; }                         \
        const xfw_u8 *p_ = xfw_ctx->data + off;                                     \
        if (p_ + (width) > xfw_ctx->data_end) { xfw_ctx->trap = 5; return 0; }     \
        return (expr);                                                              \
    } while (0)
XFW_INLINE xfw_u32 xfw_native_load_u8(XFW_CTX_ xfw_u32 off) { XFW_NATIVE_LOAD_(1, p_[0]); }
XFW_INLINE xfw_u32 xfw_native_load_u16(XFW_CTX_ xfw_u32 off) {
    XFW_NATIVE_LOAD_(2, (xfw_u32)p_[0] << 8 | p_[1]);
}
XFW_INLINE xfw_u32 xfw_native_load_u32(XFW_CTX_ xfw_u32 off) {
    XFW_NATIVE_LOAD_(4, __builtin_bswap32(*(const xfw_u32 *)p_));
}
XFW_INLINE xfw_u64 xfw_native_load_u64(XFW_CTX_ xfw_u32 off) {
    XFW_NATIVE_LOAD_(8, __builtin_bswap64(*(const xfw_u64 *)p_));
}
#define xfw_load_u8(off) xfw_native_load_u8(xfw_ctx, (off))
#define xfw_load_u16(off) xfw_native_load_u16(xfw_ctx, (off))
#define xfw_load_u32(off) xfw_native_load_u32(xfw_ctx, (off))
#define xfw_load_u64(off) xfw_native_load_u64(xfw_ctx, (off))
#define xfw_pkt_len() ((xfw_u32)(xfw_ctx->data_end - xfw_ctx->data))
#define xfw_ifindex() (xfw_ctx->ifindex)
/* Provided by the XDP program that includes the policy (it owns the map). */
XFW_INLINE void xfw_native_count(struct xfw_native_ctx *ctx, xfw_u32 bucket);
#define xfw_count(bucket) xfw_native_count(xfw_ctx, (bucket))

#else
#error "xfw_policy.h: build policies with clang --target=wasm32 (or -target bpf for the native shim)"
#endif

/* ---- Byte order --------------------------------------------------------------------------- */
/* The load imports already return network-order fields as numbers; these are for values kept in
 * linear memory (little-endian) or compared against multi-byte constants. */
XFW_INLINE xfw_u16 xfw_bswap16(xfw_u16 v) { return __builtin_bswap16(v); }
XFW_INLINE xfw_u32 xfw_bswap32(xfw_u32 v) { return __builtin_bswap32(v); }
XFW_INLINE xfw_u64 xfw_bswap64(xfw_u64 v) { return __builtin_bswap64(v); }
/* Host (little-endian on wasm32 and bpfel) to network order and back. */
#define xfw_htons(v) xfw_bswap16(v)
#define xfw_ntohs(v) xfw_bswap16(v)
#define xfw_htonl(v) xfw_bswap32(v)
#define xfw_ntohl(v) xfw_bswap32(v)
/* "a.b.c.d" as the number load_u32 returns for it. */
#define XFW_IPV4(a, b, c, d) \
    ((xfw_u32)(a) << 24 | (xfw_u32)(b) << 16 | (xfw_u32)(c) << 8 | (xfw_u32)(d))

/* ---- Header offsets --------------------------------------------------------------------------- */
#define XFW_ETH_HLEN 14u
#define XFW_ETH_P_IPV4 0x0800u
#define XFW_ETH_P_IPV6 0x86ddu
#define XFW_ETH_P_8021Q 0x8100u
#define XFW_ETH_P_8021AD 0x88a8u
#define XFW_IPPROTO_ICMP 1u
#define XFW_IPPROTO_TCP 6u
#define XFW_IPPROTO_UDP 17u
#define XFW_IPPROTO_ICMPV6 58u
#define XFW_TCP_FIN 0x01u
#define XFW_TCP_SYN 0x02u
#define XFW_TCP_RST 0x04u
#define XFW_TCP_PSH 0x08u
#define XFW_TCP_ACK 0x10u

/* What xfw_parse found. Offsets are from the start of the frame; a field that does not apply is
 * 0. Every offset reported is one whose header lies completely inside the frame, so loads of the
 * fixed header fields at it never trap. */
struct xfw_packet {
    xfw_u32 len;           /* frame length */
    xfw_u32 vlan_count;    /* 0, 1 or 2 tags (802.1Q / 802.1ad) */
    xfw_u32 outer_vlan_id; /* VID of the first tag (0 without tags) */
    xfw_u32 inner_vlan_id; /* VID of the last tag (equal to outer with one tag) */
    xfw_u32 ethertype;     /* after the tags */
    xfw_u32 l3;            /* IP header offset, 0 if not IPv4/IPv6 or truncated */
    xfw_u32 ip_version;    /* 4, 6 or 0 */
    xfw_u32 l4_proto;      /* IPv4 protocol / IPv6 next header after extension headers */
    xfw_u32 l4;            /* upper-layer header offset; 0 for non-first fragments, unknown
                              extension headers and frames too short for the L4 header below */
    xfw_u32 l4_len;        /* bytes from l4 to the end of the IP payload (0 if l4 is 0) */
};

/* Minimum header lengths whose presence xfw_parse checks before it reports l4. */
XFW_INLINE xfw_u32 xfw_l4_min_len_(xfw_u32 proto) {
    return proto == XFW_IPPROTO_TCP ? 20u : proto == XFW_IPPROTO_UDP ? 8u
           : (proto == XFW_IPPROTO_ICMP || proto == XFW_IPPROTO_ICMPV6) ? 4u : 0u;
}

/* Parses Ethernet, up to two VLAN tags, IPv4 (with options and fragments) or IPv6 (skipping up
 * to four hop-by-hop, routing, destination options and fragment headers). Returns nonzero when
 * the frame carries a complete IPv4 or IPv6 header. Never reads past the frame end. */
XFW_INLINE int xfw_parse(XFW_CTX_ struct xfw_packet *p) {
    p->len = xfw_pkt_len();
    p->vlan_count = p->outer_vlan_id = p->inner_vlan_id = 0;
    p->ethertype = p->l3 = p->ip_version = p->l4_proto = p->l4 = p->l4_len = 0;
    if (p->len < XFW_ETH_HLEN) return 0;
    xfw_u32 off = 12;
    xfw_u32 type = xfw_load_u16(off);
    if (type == XFW_ETH_P_8021Q || type == XFW_ETH_P_8021AD) {
        if (p->len < off + 6) return 0;
        p->outer_vlan_id = p->inner_vlan_id = xfw_load_u16(off + 2) & 0x0fffu;
        p->vlan_count = 1;
        off += 4;
        type = xfw_load_u16(off);
        if (type == XFW_ETH_P_8021Q || type == XFW_ETH_P_8021AD) {
            if (p->len < off + 6) return 0;
            p->inner_vlan_id = xfw_load_u16(off + 2) & 0x0fffu;
            p->vlan_count = 2;
            off += 4;
            type = xfw_load_u16(off);
        }
    }
    p->ethertype = type;
    xfw_u32 l3 = off + 2;
    xfw_u32 l4 = 0, proto = 0, end = 0;
    if (type == XFW_ETH_P_IPV4) {
        if (p->len < l3 + 20) return 0;
        xfw_u32 vihl = xfw_load_u8(l3);
        xfw_u32 ihl = (vihl & 0x0fu) * 4u;
        if ((vihl >> 4) != 4 || ihl < 20 || p->len < l3 + ihl) return 0;
        p->ip_version = 4;
        p->l3 = l3;
        proto = xfw_load_u8(l3 + 9);
        p->l4_proto = proto;
        end = l3 + xfw_load_u16(l3 + 2);
        if ((xfw_load_u16(l3 + 6) & 0x1fffu) != 0) return 1; /* non-first fragment */
        l4 = l3 + ihl;
    } else if (type == XFW_ETH_P_IPV6) {
        if (p->len < l3 + 40) return 0;
        if ((xfw_load_u8(l3) >> 4) != 6) return 0;
        p->ip_version = 6;
        p->l3 = l3;
        end = l3 + 40 + xfw_load_u16(l3 + 4);
        proto = xfw_load_u8(l3 + 6);
        l4 = l3 + 40;
        for (int i = 0; i < 4; i++) {
            if (proto != 0 && proto != 43 && proto != 60 && proto != 44) break;
            if (p->len < l4 + 8) { p->l4_proto = proto; return 1; }
            xfw_u32 next = xfw_load_u8(l4);
            if (proto == 44) {
                if ((xfw_load_u16(l4 + 2) & 0xfff8u) != 0) { p->l4_proto = next; return 1; }
                l4 += 8;
            } else {
                l4 += 8u + 8u * xfw_load_u8(l4 + 1);
            }
            proto = next;
        }
        p->l4_proto = proto;
        if (proto == 0 || proto == 43 || proto == 60 || proto == 44) return 1;
    } else {
        return 0;
    }
    if (end > p->len) end = p->len; /* trust the frame over a length field that overstates it */
    if (l4 + xfw_l4_min_len_(proto) > end) return 1;
    p->l4 = l4;
    p->l4_len = end - l4;
    return 1;
}

/* Source and destination ports of a TCP or UDP packet parsed by xfw_parse (0 otherwise). */
XFW_INLINE xfw_u32 xfw_sport(XFW_CTX_ const struct xfw_packet *p) {
    return p->l4 && (p->l4_proto == XFW_IPPROTO_TCP || p->l4_proto == XFW_IPPROTO_UDP)
               ? xfw_load_u16(p->l4) : 0u;
}
XFW_INLINE xfw_u32 xfw_dport(XFW_CTX_ const struct xfw_packet *p) {
    return p->l4 && (p->l4_proto == XFW_IPPROTO_TCP || p->l4_proto == XFW_IPPROTO_UDP)
               ? xfw_load_u16(p->l4 + 2) : 0u;
}
/* TCP flags byte (FIN 0x01 ... CWR 0x80) of a TCP packet, 0 otherwise. */
XFW_INLINE xfw_u32 xfw_tcp_flags(XFW_CTX_ const struct xfw_packet *p) {
    return p->l4 && p->l4_proto == XFW_IPPROTO_TCP ? xfw_load_u8(p->l4 + 13) : 0u;
}
/* IPv4 source address (as XFW_IPV4 writes it), 0 for other packets. */
XFW_INLINE xfw_u32 xfw_ipv4_src(XFW_CTX_ const struct xfw_packet *p) {
    return p->ip_version == 4 ? xfw_load_u32(p->l3 + 12) : 0u;
}
XFW_INLINE xfw_u32 xfw_ipv4_dst(XFW_CTX_ const struct xfw_packet *p) {
    return p->ip_version == 4 ? xfw_load_u32(p->l3 + 16) : 0u;
}
/* Offset of the IPv6 source / destination address (16 bytes), 0 for other packets. */
XFW_INLINE xfw_u32 xfw_ipv6_src_off(const struct xfw_packet *p) { return p->ip_version == 6 ? p->l3 + 8 : 0u; }
XFW_INLINE xfw_u32 xfw_ipv6_dst_off(const struct xfw_packet *p) { return p->ip_version == 6 ? p->l3 + 24 : 0u; }

#endif /* XFW_POLICY_H */
