/* A policy written against xfw_policy.h, built natively with `clang -target bpf` instead of
 * through Wasm and xfw: the same C source, the ABI mapped onto direct packet access (see the
 * __bpf__ branch of xfw_policy.h). The benchmark bench/bench_wasm_vs_clang.cpp runs this beside
 * xfw's translation of the same source's Wasm build, so the program around the policy does what
 * xfw's policy harness (wasm-policy/harness_program.hpp) does: call the policy, store what it
 * returned (the i32 result, or 1 << 32 | trap code) in a one-entry array, pass the frame; buckets
 * count packets and bytes in a per-CPU array.
 *
 * Build: clang -target bpf -O2 -I wasm-policy -DXFW_POLICY_SOURCE='"c/dns_amplification.c"'
 *        -DXFW_NATIVE_BUCKETS=3 -c xdp_policy_shim.c -o policy.bpf.o */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xfw_policy.h"

#ifndef XFW_NATIVE_BUCKETS
#error "define XFW_NATIVE_BUCKETS to the policy's bucket count"
#endif

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, XFW_NATIVE_BUCKETS > 0 ? XFW_NATIVE_BUCKETS : 1);
    __type(key, __u32);
    __type(value, struct xfw_native_bucket);
} xfw_buckets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} xfw_result SEC(".maps");

XFW_INLINE void xfw_native_count(struct xfw_native_ctx *ctx, xfw_u32 bucket) {
    if (bucket >= XFW_NATIVE_BUCKETS) {
        ctx->trap = 7;
        return;
    }
    struct xfw_native_bucket *b = bpf_map_lookup_elem(&xfw_buckets, &bucket);
    if (b) {
        b->packets += 1;
        b->bytes += (xfw_u64)(ctx->data_end - ctx->data);
    }
}

#include XFW_POLICY_SOURCE

SEC("xdp")
int xfw_native_policy(struct xdp_md *md) {
    struct xfw_native_ctx ctx = {
        .data = (const xfw_u8 *)(long)md->data,
        .data_end = (const xfw_u8 *)(long)md->data_end,
        .ifindex = md->ingress_ifindex,
    };
    xfw_i32 r = filter(&ctx);
    __u32 zero = 0;
    __u64 *slot = bpf_map_lookup_elem(&xfw_result, &zero);
    if (slot) *slot = ctx.trap ? (1ull << 32 | ctx.trap) : (__u64)(xfw_u32)r;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
