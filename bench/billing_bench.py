#!/usr/bin/env python3
"""Time `xfw billing snapshot` and `xfw counters --prometheus` with many rules.

The code generator refuses programs beyond about 1550 rules today, so N rules (default
10 000) are created in a state directory directly (state.json as `xfw` writes it: each rule's
text as `xfw save` prints it and its account beside it) together
with a pinned counter map (bpftool) whose every rule slot has counts; nothing is attached.
Both commands do exactly what they do on an attached firewall: take the lock, parse the state,
read the whole map in batches, and format or append. Before each snapshot every slot gains
counts, so each snapshot bills N rows.

Needs root (bpffs mount, bpftool). Usage: bench/billing_bench.py XFW [--rules N] [--runs K]
Prints medians (ms) and the ledger line size; --json for a machine-readable line.
"""
import argparse, json, os, resource, statistics, struct, subprocess, sys, tempfile, time

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)

def fill_map(pin, first_slot, n, scale):
    # bpftool batch: one process for all updates; per-CPU maps get the value on every CPU.
    with tempfile.NamedTemporaryFile('w', suffix='.batch', delete=False) as f:
        for i in range(n):
            slot = first_slot + i
            packets = (i % 97 + 1) * scale
            key = ' '.join(str(b) for b in struct.pack('<I', slot))
            val = ' '.join(str(b) for b in struct.pack('<QQ', packets, packets * 100))
            f.write(f'map update pinned {pin} key {key} value {val}\n')
        name = f.name
    try:
        run(['bpftool', 'batch', 'file', name], stdout=subprocess.DEVNULL)
    finally:
        os.unlink(name)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('xfw')
    ap.add_argument('--rules', type=int, default=10000)
    ap.add_argument('--runs', type=int, default=7)
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    first_slot = 8  # xdp::kFirstRuleSlot
    work = tempfile.mkdtemp(prefix='xfw-billing-bench-')
    bpffs = os.path.join(work, 'bpf')
    state = os.path.join(work, 'state')
    os.makedirs(bpffs)
    os.makedirs(state)
    run(['mount', '-t', 'bpf', 'bpf', bpffs])
    try:
        # As xfw writes them: the spec as `xfw save` prints it, the rule's account beside it.
        rules = [{'id': i + 1, 'slot': first_slot + i, 'account': f'customer{i % 500}',
                  'spec': f'-p udp -m udp --dport {1 + i % 60000} -m comment --comment "account=customer{i % 500}" -j ACCEPT'}
                 for i in range(a.rules)]
        st = {'version': 1,
              'chains': [{'name': 'INPUT', 'builtin': True, 'policy': 'ACCEPT', 'rules': rules},
                         {'name': 'FORWARD', 'builtin': True, 'policy': 'ACCEPT', 'rules': []},
                         {'name': 'OUTPUT', 'builtin': True, 'policy': 'ACCEPT', 'rules': []}],
              'next_slot': first_slot + a.rules, 'next_rule_id': a.rules + 1, 'free_slots': [],
              'attachments': [], 'zero_baseline': []}
        with open(os.path.join(state, 'state.json'), 'w') as f:
            json.dump(st, f)
        os.makedirs(os.path.join(bpffs, 'xfw'))
        pin = os.path.join(bpffs, 'xfw', 'counters')
        run(['bpftool', 'map', 'create', pin, 'type', 'percpu_array', 'key', '4', 'value', '16',
             'entries', '65536', 'name', 'xfw_counters'])
        base = [a.xfw, '--bpffs', os.path.join(bpffs, 'xfw'), '--state-dir', state]

        # Wall time, and CPU time (user + system) of the child: on a shared, loaded machine the
        # wall time includes waiting for a CPU; the CPU time does not.
        def timed(args, stdout=subprocess.DEVNULL):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            run(base + args, stdout=stdout)
            wall = (time.perf_counter() - t0) * 1000
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000
            return wall, cpu

        prom, snap, prom_cpu, snap_cpu, rows = [], [], [], [], []
        for k in range(a.runs):
            fill_map(pin, first_slot, a.rules, k + 1)
            w, c = timed(['counters', '--prometheus'])
            prom.append(w)
            prom_cpu.append(c)
            w, c = timed(['billing', 'snapshot'])
            snap.append(w)
            snap_cpu.append(c)
        ledger = os.path.join(state, 'billing', 'ledger')
        with open(ledger) as f:
            lines = f.read().splitlines()
        for line in lines:
            rows.append(len(json.loads(line.split(' ', 1)[1])['rows']))
        out = {'rules': a.rules, 'runs': a.runs,
               'counters_prometheus_ms_median': round(statistics.median(prom), 1),
               'billing_snapshot_ms_median': round(statistics.median(snap), 1),
               'counters_prometheus_cpu_ms_median': round(statistics.median(prom_cpu), 1),
               'billing_snapshot_cpu_ms_median': round(statistics.median(snap_cpu), 1),
               'load_average_1min': os.getloadavg()[0],
               'rows_per_snapshot': rows, 'ledger_line_bytes': len(lines[-1]) + 1,
               'cpus': os.cpu_count()}
        if a.json:
            print(json.dumps(out))
        else:
            print(f"{a.rules} rules, {a.runs} runs each, {out['cpus']} CPUs (map per-CPU), "
                  f"load average {out['load_average_1min']:.1f}")
            print(f"xfw counters --prometheus: median {out['counters_prometheus_ms_median']} ms wall, "
                  f"{out['counters_prometheus_cpu_ms_median']} ms CPU "
                  f"(wall: {', '.join(f'{x:.1f}' for x in prom)})")
            print(f"xfw billing snapshot:      median {out['billing_snapshot_ms_median']} ms wall, "
                  f"{out['billing_snapshot_cpu_ms_median']} ms CPU "
                  f"(wall: {', '.join(f'{x:.1f}' for x in snap)}), {rows[-1]} rows, "
                  f"{out['ledger_line_bytes']} bytes per ledger line")
    finally:
        subprocess.run(['umount', bpffs])
        subprocess.run(['rm', '-rf', work])

if __name__ == '__main__':
    sys.exit(main())
