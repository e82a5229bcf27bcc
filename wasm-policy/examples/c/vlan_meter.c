/* Per-tenant VLAN meter for billing. Use as a target that lets traffic go on to the next rule:
 * `-j WASM --policy vlan_meter.wasm` (returns XFW_CONTINUE for every frame).
 *
 * Each tenant owns one 802.1Q VLAN (the outer tag when a frame is double-tagged); every frame
 * is counted, packets and bytes, into its tenant's bucket. Frames on VLANs no tenant owns count
 * in other_vlan, untagged frames in untagged. `xfw -L -v` and the counter exports show the
 * buckets by name. */
#include "xfw_policy.h"

XFW_BUCKETS("tenant_acme\ntenant_globex\ntenant_initech\nother_vlan\nuntagged");

enum { kAcme = 0, kGlobex = 1, kInitech = 2, kOtherVlan = 3, kUntagged = 4 };

XFW_INLINE xfw_u32 tenant_bucket(xfw_u32 vid) {
    switch (vid) {
    case 100: return kAcme;
    case 200: return kGlobex;
    case 300: case 301: return kInitech; /* one tenant, two VLANs */
    default: return kOtherVlan;
    }
}

XFW_POLICY(filter) {
    xfw_u32 len = xfw_pkt_len();
    xfw_u32 bucket = kUntagged;
    if (len >= 18) {
        xfw_u32 tpid = xfw_load_u16(12);
        if (tpid == XFW_ETH_P_8021Q || tpid == XFW_ETH_P_8021AD)
            bucket = tenant_bucket(xfw_load_u16(14) & 0x0fffu);
    }
    xfw_count(bucket);
    return XFW_CONTINUE;
}
