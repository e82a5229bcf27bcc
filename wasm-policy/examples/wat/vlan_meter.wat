;; Per-tenant VLAN meter for billing, written in WAT: the same policy as ../c/vlan_meter.c.
;; Use as a target: `-j WASM --policy vlan_meter_wat.wasm --buckets 5`. wat2wasm (wabt 1.0.32)
;; cannot write custom sections, so the five buckets are declared on the rule with --buckets 5
;; and are named b0..b4 there:
;;   b0 VLAN 100 (acme), b1 VLAN 200 (globex), b2 VLANs 300 and 301 (initech),
;;   b3 any other VLAN, b4 untagged.
;; Every frame is counted (packets and bytes) and the rule goes on: returns -1 (continue).
(module
  (import "xfw" "load_u16" (func $load_u16 (param i32) (result i32)))
  (import "xfw" "pkt_len" (func $pkt_len (result i32)))
  (import "xfw" "count" (func $count (param i32)))

  ;; Bucket of a VLAN id.
  (func $tenant (param $vid i32) (result i32)
    (if (i32.eq (local.get $vid) (i32.const 100)) (then (return (i32.const 0))))
    (if (i32.eq (local.get $vid) (i32.const 200)) (then (return (i32.const 1))))
    ;; 300 and 301: (vid - 300) <= 1, unsigned
    (if (i32.le_u (i32.sub (local.get $vid) (i32.const 300)) (i32.const 1))
      (then (return (i32.const 2))))
    (i32.const 3))

  (func (export "filter") (result i32)
    (local $tpid i32)
    (local $bucket i32)
    (local.set $bucket (i32.const 4))
    ;; 14-byte Ethernet header plus a 4-byte tag
    (if (i32.ge_u (call $pkt_len) (i32.const 18))
      (then
        (local.set $tpid (call $load_u16 (i32.const 12)))
        (if (i32.or (i32.eq (local.get $tpid) (i32.const 0x8100))
                    (i32.eq (local.get $tpid) (i32.const 0x88a8)))
          (then
            (local.set $bucket
              (call $tenant (i32.and (call $load_u16 (i32.const 14)) (i32.const 0x0fff))))))))
    (call $count (local.get $bucket))
    (i32.const -1)))
