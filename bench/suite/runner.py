"""The suite's orchestration: workloads, systems, correctness pass, timed runs, results."""
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time

from suite import lab as labmod
from suite import systems as sysmod
from suite.util import Profile, Stopwatch, log, run, stats

FULL = {
    "shapes": ["blocklist", "ports", "classbench"],
    "sizes": [1, 10, 100, 1000, 10000],
    "testrun_families": ["v4", "v6"],
    "testrun_traces": ["first-64", "middle-64", "last-64", "none-64", "none-mixed"],
    "dpdk_traces": ["first-64", "last-64", "none-64"],
    "live_shapes": ["blocklist", "ports", "classbench"],
    "live_sizes": [1, 10, 100, 1000, 10000],
    "live_trace": "last-64",
    "packets": 256,
    "runs": 5,
    "testrun_packets": 200000,
    "testrun_max_run_ms": 40,
    # At the rates reached here (0.03-4 Mpps live, 10-60 Mpps from memory) a window still holds
    # 10^4-10^6 packets; the min-max of the 5 windows in the report shows whether that was enough.
    "dpdk_seconds": 0.05,
    "live_seconds": 0.25,
}
QUICK = dict(FULL, sizes=[1, 100], testrun_families=["v4", "v6"], testrun_traces=["first-64", "none-64"],
             dpdk_traces=["none-64"], live_shapes=["classbench", "blocklist"], live_sizes=[100], packets=64,
             runs=1, testrun_packets=20000, dpdk_seconds=0.05, live_seconds=0.2)


def machine_info():
    info = {"hostname": platform.node(), "kernel": platform.release(), "kernel_version": platform.version(),
            "machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k = k.strip()
                if k == "model name" and "cpu_model" not in info:
                    info["cpu_model"] = v.strip()
                elif k == "flags" and "cpu_flags" not in info:
                    info["cpu_flags"] = v.split()
                elif k == "cpu MHz" and "cpu_mhz" not in info:
                    info["cpu_mhz"] = float(v)
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
    except OSError:
        pass
    try:
        info["os"] = dict(l.rstrip().split("=", 1) for l in open("/etc/os-release") if "=" in l).get("PRETTY_NAME", "").strip('"')
    except OSError:
        pass
    versions = {}
    for name, argv in [("iptables", ["iptables", "--version"]), ("nft", ["nft", "--version"]),
                       ("xdp-filter", ["xdp-filter", "--version"]), ("libdpdk", ["pkg-config", "--modversion", "libdpdk"])]:
        r = run(argv, check=False)
        if r.returncode == 0:
            versions[name] = (r.stdout.strip() or r.stderr.strip()).splitlines()[0]
    info["versions"] = versions
    return info


def run_suite(repo, build, out, quick, runs, systems):
    cfg = dict(QUICK if quick else FULL)
    if runs:
        cfg["runs"] = runs
    started = time.time()
    tools = sysmod.Tools(build)
    results = {"schema": 1, "suite": "xfw DPDK-vs-XDP", "quick": quick, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": machine_info(), "config": cfg, "skipped": [], "points": []}
    # Other work on the machine moves rates: the load average before and after says how much.
    results["machine"]["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    missing = tools.missing_core()
    if missing:
        results["skipped"].append({"system": "all", "reason": missing})
        log(f"skipped everything: {missing}")
        return results

    watch = Stopwatch()
    workdir = os.path.join(out, "workload")
    sizes = sorted(set(cfg["sizes"]) | set(cfg["live_sizes"]))
    shapes = sorted(set(cfg["shapes"]) | set(cfg["live_shapes"]))
    log(f"generating workloads in {workdir}")
    run([tools.workload, "--out", workdir, "--shapes", ",".join(shapes), "--sizes", ",".join(map(str, sizes)),
         "--families", ",".join(cfg["testrun_families"]), "--packets", str(cfg["packets"]), "--mixed", "--seed", "1"])
    manifest = json.load(open(os.path.join(workdir, "manifest.json")))
    rulesets = [dict(r, dir=os.path.join(workdir, r["name"]),
                     expected=json.load(open(os.path.join(workdir, r["name"], "expected.json"))))
                for r in manifest["rulesets"]]
    want = (lambda s: systems is None or s in systems)

    points = results["points"]
    skipped = results["skipped"]
    profile = Profile()
    phases = results["phase_seconds"] = {}
    phases["workload"] = watch.lap()

    # ---- BPF_PROG_TEST_RUN ---------------------------------------------------------------------
    log("phase 1: BPF_PROG_TEST_RUN (xfw, xfw-linear, bare XDP_DROP)")
    refusals = {}  # (system, ruleset) -> message: a live attach of the same rules is not tried again
    for rs in rulesets:
        if rs["shape"] not in cfg["shapes"] or rs["rules"] not in cfg["sizes"] or rs["family"] not in cfg["testrun_families"]:
            continue
        traces = [t for t in cfg["testrun_traces"] if t in rs["expected"]["traces"]]
        if want("xdp-drop"):
            points += sysmod.testrun_points(tools, "xdp-drop", rs, traces, cfg, ["--bare-drop"], profile)
        rules = ["--rules", os.path.join(rs["dir"], "rules.iptables"), "--family", rs["family"]]
        for system, extra in (("xfw", []), ("xfw-linear", ["--linear"])):
            if not want(system):
                continue
            pts = sysmod.testrun_points(tools, system, rs, traces, cfg, rules + extra, profile)
            if pts and pts[0]["status"] == "refused":
                refusals[(system, rs["name"])] = pts[0]["message"]
            points += pts
    phases["test-run"] = watch.lap()

    # ---- DPDK on net_pcap ----------------------------------------------------------------------
    log("phase 2: DPDK rte_acl on net_pcap (classification without I/O)")
    dpdk_problem = tools.dpdk_problem()
    if dpdk_problem:
        for s in ("dpdk-acl", "dpdk-drop"):
            skipped.append({"system": s, "reason": dpdk_problem})
        log(f"skipped DPDK: {dpdk_problem}")
    else:
        for rs in rulesets:
            if rs["shape"] not in cfg["shapes"] or rs["rules"] not in cfg["sizes"] or rs["family"] not in cfg["testrun_families"]:
                continue
            traces = [t for t in cfg["dpdk_traces"] if t in rs["expected"]["traces"]]
            if want("dpdk-drop"):
                points += sysmod.dpdk_pcap_points(tools, "dpdk-drop", rs, traces, cfg, profile)
            if want("dpdk-acl"):
                points += sysmod.dpdk_pcap_points(tools, "dpdk-acl", rs, traces, cfg, profile)
    phases["dpdk-pcap"] = watch.lap()

    # ---- Live on veth --------------------------------------------------------------------------
    log("phase 3: live traffic on a veth pair between two namespaces")
    lab_problem = labmod.lab_problem()
    live = [s for s in sysmod.LIVE_SYSTEMS if want(s)]
    if lab_problem:
        for s in live:
            skipped.append({"system": s, "reason": lab_problem})
        log(f"skipped live systems: {lab_problem}")
        live = []
    reasons = {}
    for s in live:
        r = sysmod.live_problem(tools, s)
        if r:
            reasons[s] = r
            skipped.append({"system": s, "reason": r})
            log(f"skipped {s}: {r}")
    live = [s for s in live if s not in reasons]
    live_rulesets = [rs for rs in rulesets if rs["family"] == "v4" and rs["shape"] in cfg["live_shapes"]
                     and rs["rules"] in cfg["live_sizes"]]
    with labmod.Bpffs() as bpffs:
        for s in live:
            # One lab per system: namespaces and veths are made once, not once per ruleset.
            with labmod.LabKeeper() as labs:
                for rs in live_rulesets:
                    points += sysmod.live_point(tools, s, rs, cfg, bpffs, labs, profile, refusals)
    phases["live"] = watch.lap()

    sysmod.add_ratios(points)
    if not quick:
        log("phase 4: compiler phases by ruleset size and Wasm translation (Google Benchmark)")
        results["compile"] = compile_benchmarks(build)
        results["wasm_translation"] = wasm_benchmarks(build)
        phases["google-benchmark"] = watch.lap()
    results["profile"] = profile.entries
    results["seconds"] = round(time.time() - started, 1)
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    log(f"done in {results['seconds']} s")
    return results


def google_benchmark(exe, args, timeout=900):
    """Runs a Google Benchmark binary with 5 repetitions and returns ({name: {aggregate: run}},
    {name: error}, problem): the median, mean and stddev aggregates of each benchmark."""
    if not os.access(exe, os.X_OK):
        return {}, {}, f"{exe} is not built (needs libbenchmark-dev)"
    # 0.1 s per repetition: 5 repetitions of it give the medians and spreads; Google Benchmark's
    # default 0.5 s would make this phase several minutes.
    r = run([exe, "--benchmark_format=json", "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true",
             "--benchmark_min_time=0.1"] + args, check=False, timeout=timeout)
    try:
        data = json.loads(r.stdout)
    except ValueError:
        return {}, {}, (r.stderr.strip() or "no output")[-300:]
    aggregates, errors = {}, {}
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            errors[name] = b.get("error_message", "error")
        elif b.get("run_type") == "aggregate" and b.get("aggregate_name") in ("median", "mean", "stddev"):
            aggregates.setdefault(name, {})[b["aggregate_name"]] = b
    return aggregates, errors, None


def _ms(b, key):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
    return round(b[key] * scale, 4)


def compile_benchmarks(build):
    """Parse, plan, emit and compile+verify+load times of the ClassBench-style rulesets, from
    xfw_bench (bench/bench_compile.cpp): [{"phase", "rules", "median_ms", "mean_ms", "stddev_ms",
    "cpu_median_ms"} or {"phase", "rules", "error"}]."""
    aggregates, errors, problem = google_benchmark(os.path.join(build, "bench", "xfw_bench"),
                                                   ["--benchmark_filter=BM_(Parse|Plan|Emit|CompileVerifyLoad)/"])
    if problem:
        return [{"phase": "all", "rules": 0, "error": problem}]
    out = []
    key = lambda name: (name.split("/")[0].removeprefix("BM_"), int(name.split("/")[1]))
    for name in sorted(set(aggregates) | set(errors), key=key):
        phase, rules = key(name)
        if name in errors:
            out.append({"phase": phase, "rules": rules, "error": errors[name]})
        elif "median" in aggregates[name]:
            a = aggregates[name]
            entry = {"phase": phase, "rules": rules, "median_ms": _ms(a["median"], "real_time"),
                     "cpu_median_ms": _ms(a["median"], "cpu_time")}
            entry.update({f"{k}_ms": _ms(a[k], "real_time") for k in ("mean", "stddev") if k in a})
            out.append(entry)
    return out


def wasm_benchmarks(build):
    """Translation time of the example Wasm policies and a generated 10k-instruction module, from
    xfw_bench_wasm (bench/bench_wasm.cpp): [{"module", "wasm_insns", "bpf_insns", "median_ms",
    "cpu_median_ms", "stddev_ms"} or {"module", "error"}]."""
    aggregates, errors, problem = google_benchmark(os.path.join(build, "bench", "xfw_bench_wasm"), [])
    if problem:
        return [{"module": "all", "error": problem}]
    out = []
    for name in sorted(set(aggregates) | set(errors)):
        module = name.removeprefix("translate/")
        if name in errors:
            out.append({"module": module, "error": errors[name]})
        elif "median" in aggregates[name]:
            m = aggregates[name]["median"]
            entry = {"module": module, "median_ms": _ms(m, "real_time"), "cpu_median_ms": _ms(m, "cpu_time"),
                     "wasm_insns": int(m.get("wasm_insns", 0)), "bpf_insns": int(m.get("bpf_insns", 0))}
            if "stddev" in aggregates[name]:
                entry["stddev_ms"] = _ms(aggregates[name]["stddev"], "real_time")
            out.append(entry)
    return out
