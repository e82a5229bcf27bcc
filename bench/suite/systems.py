"""The systems under test: how each is set up on a ruleset, how its counters are read, and how
its points (correctness pass, then timed runs) are made."""
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from suite.lab import CpuMeter, Lab
from suite.util import CommandError, Stopwatch, log, run, stats

LIVE_SYSTEMS = ["xdp-drop", "xfw", "xdp-filter", "iptables-nft", "iptables-legacy", "nftables",
                "dpdk-drop-af_xdp", "dpdk-acl-af_xdp", "dpdk-acl-af_packet"]
# Floors each system's figures are divided by (medians, same suite run, same ruleset and trace).
FLOORS = {"test-run": "xdp-drop", "dpdk-pcap": "dpdk-drop", "live": "xdp-drop"}
# xdp-filter adds one entry per process (it has no batch mode); longer lists are written into its
# pinned maps with one `bpftool batch` instead (write_xdp_filter_maps).
XDP_FILTER_CLI_MAX_ENTRIES = 10
EAL = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--log-level=error", "--force-max-simd-bitwidth=512"]


class Tools:
    def __init__(self, build):
        self.build = build
        self.workload = os.path.join(build, "bench", "xfw-bench-workload")
        self.xdp = os.path.join(build, "bench", "xfw-bench-xdp")
        self.trafficgen = os.path.join(build, "bench", "xfw-bench-trafficgen")
        self.dpdk = os.path.join(build, "bench", "dpdk", "xfw-bench-dpdk")
        self.xfw = os.path.join(build, "control", "xfw")

    def missing_core(self):
        for p in (self.workload, self.xdp, self.trafficgen):
            if not os.access(p, os.X_OK):
                return f"{p} is not built: run `meson setup {self.build} && ninja -C {self.build}`"
        return None

    def dpdk_problem(self):
        if os.access(self.dpdk, os.X_OK):
            return None
        if run(["pkg-config", "--exists", "libdpdk"], check=False).returncode != 0:
            return "DPDK is not installed: apt-get install libdpdk-dev dpdk-dev (scripts/install-deps.sh), then reconfigure the build"
        return f"{self.dpdk} is not built: reconfigure and rebuild {self.build}"


def base_point(system, method, rs, trace):
    return {"system": system, "method": method, "ruleset": rs["name"], "shape": rs["shape"], "rules": rs["rules"],
            "family": rs["family"], "trace": trace, "status": "ok", "message": "", "problems": [], "metrics": {},
            "info": {}}


def compare_counts(expected, rule_packets, policy_packets=None, rules_only_listed=None):
    """Problems (strings) between a trace's expected per-rule packet counts and what a system
    counted. rule_packets: {rule number: packets}; policy_packets None when the system has no
    policy counter."""
    problems = []
    want = {int(k): v[0] for k, v in expected["rule_counts"].items()}
    numbers = sorted(set(want) | {n for n, p in rule_packets.items() if p})
    for n in numbers:
        if rules_only_listed is not None and n not in rules_only_listed:
            continue
        if want.get(n, 0) != rule_packets.get(n, 0):
            problems.append(f"rule {n}: {rule_packets.get(n, 0)} packets, expected {want.get(n, 0)}")
    if policy_packets is not None and policy_packets != expected["policy"][0]:
        problems.append(f"policy: {policy_packets} packets, expected {expected['policy'][0]}")
    if len(problems) > 5:
        problems = problems[:5] + [f"{len(problems) - 5} more differences"]
    return problems


# ---- BPF_PROG_TEST_RUN ------------------------------------------------------------------------------

def testrun_points(tools, system, rs, traces, cfg, args, profile):
    """One xfw-bench-xdp process per ruleset: compile (or load), check every timed trace, time."""
    points = [base_point(system, "test-run", rs, t) for t in traces]
    if not traces:
        return []
    watch = Stopwatch()
    r = run([tools.xdp] + args + ["--dir", rs["dir"], "--traces", ",".join(traces), "--runs", str(cfg["runs"]),
                                  "--packets", str(cfg["testrun_packets"]),
                                  "--max-run-ms", str(cfg["testrun_max_run_ms"])], check=False)
    if r.returncode == 3:
        msg = json.loads(r.stdout)["refused"]
        for p in points:
            p["status"], p["message"] = "refused", msg
        log(f"{system} {rs['name']}: refused: {msg}")
        profile.add(system, "test-run", rs, setup=watch.total())
        return points
    if r.returncode != 0:
        for p in points:
            p["status"], p["message"] = "error", (r.stderr.strip() or r.stdout.strip())[-500:]
        log(f"{system} {rs['name']}: error: {points[0]['message']}")
        profile.add(system, "test-run", rs, setup=watch.total())
        return points
    out = json.loads(r.stdout)
    own = out.get("seconds", {})
    profile.add(system, "test-run", rs, setup=round(watch.total() - own.get("check", 0) - own.get("timed", 0), 3),
                check=own.get("check", 0), timed=own.get("timed", 0))
    for p in points:
        t = out["traces"][p["trace"]]
        p["info"]["instructions"] = out.get("instructions")
        for key in ("map_memory_bytes", "maps"):
            if key in out:
                p["info"][key] = out[key]
        if "compile_ms" in out:
            p["info"]["compile_load_ms"] = round(out["compile_ms"], 2)
        if "verify" in t and not t["verify"]["ok"]:
            p["status"], p["problems"] = "wrong", t["verify"]["problems"]
            continue
        p["info"]["verified"] = "verify" in t
        p["info"]["repeat"] = t.get("repeat")
        p["metrics"]["ns_per_packet"] = stats(t["ns_per_packet"])
    log(f"{system} {rs['name']} test-run: " + ", ".join(
        f"{p['trace']} {p['metrics']['ns_per_packet']['median']:.1f} ns" if p["metrics"] else f"{p['trace']} {p['status']}"
        for p in points))
    return points


# ---- DPDK --------------------------------------------------------------------------------------------

_eal_seq = [0]


def eal_args(lcore):
    _eal_seq[0] += 1
    return EAL + ["--file-prefix", f"xfwb{os.getpid()}n{_eal_seq[0]}", "-l", str(lcore)]


def dpdk_env():
    d = tempfile.mkdtemp(prefix="xfwb-dpdk-")
    return dict(os.environ, RUNTIME_DIRECTORY=d), d


def dpdk_pcap_points(tools, system, rs, traces, cfg, profile):
    """One DPDK process per ruleset (one EAL start, one rte_acl build): rte_acl first reads every
    trace of the ruleset once (the correctness pass), then the timed traces are replayed from
    memory. The drop-all floor has nothing to check."""
    acl = system == "dpdk-acl"
    mode = ["--rules", os.path.join(rs["dir"], "rules.classbench"), "--family", rs["family"]] if acl else ["--drop-all"]
    points = [base_point(system, "dpdk-pcap", rs, t) for t in traces]
    names = list(rs["expected"]["traces"]) if acl else []
    pcap = lambda n: os.path.join(rs["dir"], rs["expected"]["traces"][n]["file"])
    vdevs = [f"--vdev=net_pcap{i},rx_pcap={pcap(n)}" for i, n in enumerate(names)]
    vdevs += [f"--vdev=net_pcap{len(names) + i},rx_pcap={pcap(t)},infinite_rx=1" for i, t in enumerate(traces)]
    env, rundir = dpdk_env()
    watch = Stopwatch()
    try:
        r = subprocess.run([tools.dpdk] + eal_args(1) + vdevs + ["--"] + mode +
                           ["--seconds", str(cfg["dpdk_seconds"]), "--runs", str(cfg["runs"]),
                            "--check-ports", str(len(names))],
                           capture_output=True, text=True, env=env, timeout=600)
        windows = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        checks = [w for w in windows if w["port"] < len(names)]
        timed = [w for w in windows if w["port"] >= len(names)]
        check_s = sum(w["seconds"] for w in checks)
        timed_s = sum(w["seconds"] for w in timed)
        profile.add(system, "dpdk-pcap", rs, setup=round(watch.total() - check_s - timed_s, 3), check=round(check_s, 3),
                    timed=round(timed_s, 3))
        if r.returncode != 0 or len(checks) != len(names) or len(timed) != len(traces) * cfg["runs"]:
            for p in points:
                p["status"], p["message"] = "error", (r.stderr.strip() or "no output")[-500:]
            return points
        problems = {}
        for name, w in zip(names, checks):
            exp = rs["expected"]["traces"][name]
            counts = {int(k): v[0] for k, v in w["rule_counts"].items()}
            pr = compare_counts(exp, counts, w["policy"][0])
            if w["dropped"] != exp["dropped"]:
                pr.append(f"verdicts: {w['dropped']} dropped, expected {exp['dropped']}")
            if pr:
                problems[name] = pr
        if problems:
            for p in points:
                p["status"] = "wrong"
                p["problems"] = [f"{n}: {x}" for n, pr in problems.items() for x in pr][:8]
            log(f"{system} {rs['name']}: WRONG: {points[0]['problems'][:2]}")
            return points
        for i, p in enumerate(points):
            ws = [w for w in timed if w["port"] == len(names) + i]
            key = "classify_ns_per_packet" if acl else "loop_ns_per_packet"
            p["metrics"]["ns_per_packet"] = stats([w[key] for w in ws])
            p["metrics"]["loop_ns_per_packet"] = stats([w["loop_ns_per_packet"] for w in ws])
            p["metrics"]["mpps"] = stats([w["received"] / w["seconds"] / 1e6 for w in ws])
            p["info"]["rte_acl_alg"] = ws[0]["rte_acl_alg"]
            p["info"]["build_ms"] = ws[0]["build_ms"]
            if acl:
                p["info"]["memory_bytes"] = ws[0].get("memory_bytes")
            p["info"]["verified"] = acl
        log(f"{system} {rs['name']} pcap ({points[0]['info'].get('rte_acl_alg')}): " +
            ", ".join(f"{p['trace']} {p['metrics']['ns_per_packet']['median']:.1f} ns" for p in points))
        return points
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


class DpdkProc:
    """The DPDK application running live on the lab's receiving end."""

    def __init__(self, tools, lab, vdev, mode, bpffs_dir):
        env, self.rundir = dpdk_env()
        env["LIBXDP_BPFFS"] = bpffs_dir
        self.proc = subprocess.Popen(lab.sut(["env", f"RUNTIME_DIRECTORY={env['RUNTIME_DIRECTORY']}",
                                              f"LIBXDP_BPFFS={bpffs_dir}", tools.dpdk] + eal_args(1) +
                                             [f"--vdev={vdev}", "--"] + mode),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self._line(30)
        if line != "ready":
            err = self.stop_and_error()
            raise RuntimeError(f"xfw-bench-dpdk did not start: {err}")

    def _line(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return None
        return self.proc.stdout.readline().strip()

    def pid(self):
        # `ip netns exec` execs env, which execs the application: the same pid.
        return self.proc.pid

    def snapshot(self):
        self.proc.send_signal(signal.SIGUSR1)
        line = self._line(10)
        if not line or not line.startswith("{"):
            raise RuntimeError(f"no snapshot from xfw-bench-dpdk: {self.stop_and_error()}")
        return json.loads(line)

    def stop_and_error(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        shutil.rmtree(self.rundir, ignore_errors=True)
        lines = [l for l in (err or "").splitlines() if l.strip() and "TELEMETRY" not in l]
        return lines[-1] if lines else f"exit status {self.proc.returncode}"


# ---- Live systems ------------------------------------------------------------------------------------

def live_problem(tools, system):
    need = {"xfw": None, "xdp-filter": "xdp-filter", "iptables-nft": "iptables-nft-restore",
            "iptables-legacy": "iptables-legacy-restore", "nftables": "nft"}
    if system == "xfw" and not os.access(tools.xfw, os.X_OK):
        return f"{tools.xfw} is not built"
    if need.get(system) and not shutil.which(need[system]):
        pkg = {"xdp-filter": "xdp-tools", "nft": "nftables"}.get(need[system], "iptables")
        return f"`{need[system]}` not found: apt-get install {pkg}"
    if system.startswith("dpdk"):
        return tools.dpdk_problem()
    return None


class Holder:
    """A bare XDP program (drop: the floor; pass: lets the veth accept XDP frames for systems that
    receive through the stack) attached to the receiving end while the object lives."""

    def __init__(self, tools, lab, what):
        self.proc = subprocess.Popen([tools.trafficgen, "--hold-xdp", what, "--ifname", lab.sut_if, "--netns", lab.sut_ns],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "attached":
            err = self.proc.stderr.read().strip()
            self.proc.wait()
            raise RuntimeError(f"cannot attach a bare XDP_{what.upper()} program: {err}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


class Refused(Exception):
    """The system refused the ruleset (its own message)."""


class Skip(Exception):
    """The system cannot run this point here (what is missing or cannot be expressed)."""


class LiveSystem:
    """Set up on a lab; counters() returns ({rule number: packets}, policy packets or None)."""
    has_policy = True
    pids = ()
    dpdk = None
    verified = True

    def processed(self):
        return self.lab.rx_packets()

    def counters(self):
        raise NotImplementedError

    def close(self):
        pass


class XdpDrop(LiveSystem):
    verified = False

    def __init__(self, tools, lab, rs, bpffs):
        self.lab = lab
        self.holder = Holder(tools, lab, "drop")

    def close(self):
        self.holder.close()


class Xfw(LiveSystem):
    def __init__(self, tools, lab, rs, bpffs):
        self.lab, self.tools = lab, tools
        self.pins = os.path.join(bpffs.path, lab.sut_ns)
        self.state = tempfile.mkdtemp(prefix="xfwb-state-")
        self.base = [tools.xfw, "--bpffs", self.pins, "--state-dir", self.state]
        with open(os.path.join(rs["dir"], "rules.iptables")) as f:
            r = run(self.base + ["restore", "-4"], input=f.read(), check=False)
        if r.returncode != 0:
            self.close()
            raise Refused(r.stderr.strip().removeprefix("xfw: "))
        r = run(lab.sut(self.base + ["attach", lab.sut_if]), check=False)
        if r.returncode != 0:
            self.close()
            raise Refused(r.stderr.strip().removeprefix("xfw: "))

    def counters(self):
        c = json.loads(run(self.base + ["counters", "--json", "--raw"]).stdout)
        return ({r["num"]: r["packets"] for r in c["rules"] if r["chain"] == "INPUT"}, c["policy"]["INPUT"]["packets"])

    def close(self):
        run(self.lab.sut(self.base + ["detach", self.lab.sut_if]), check=False)
        shutil.rmtree(self.pins, ignore_errors=True)
        shutil.rmtree(self.state, ignore_errors=True)


class XdpFilter(LiveSystem):
    has_policy = False

    def __init__(self, tools, lab, rs, bpffs):
        self.lab = lab
        tr = json.load(open(os.path.join(rs["dir"], "xdp-filter.json")))
        if not tr["expressible"]:
            raise Skip(f"cannot express this ruleset: {tr['reason']}")
        bulk = len(tr["commands"]) > XDP_FILTER_CLI_MAX_ENTRIES
        if bulk and not shutil.which("bpftool"):
            raise Skip(f"{len(tr['commands'])} entries need `bpftool` to be written in one batch (xdp-filter adds "
                       "one entry per process): apt-get install bpftool")
        self.pins = os.path.join(bpffs.path, lab.sut_ns + "-xf")
        os.makedirs(self.pins, exist_ok=True)
        self.env = ["env", f"LIBXDP_BPFFS={self.pins}", "xdp-filter"]
        run(lab.sut(self.env + ["load", lab.sut_if, "--mode", "native", "--features", ",".join(tr["features"])]))
        self.keys = {}
        for n, cmd in enumerate(tr["commands"], 1):
            self.keys[cmd[1]] = n
        self.entries_by = "bpftool batch" if bulk else "xdp-filter"
        info = json.loads(run(["ip", "-n", lab.sut_ns, "-j", "link", "show", lab.sut_if]).stdout)[0]
        self.prog_id = info.get("xdp", {}).get("prog", {}).get("id") or info.get("xdp", {}).get("attached", [{}])[0].get("prog", {}).get("id")
        if bulk:
            if not self.prog_id:
                raise RuntimeError("xdp-filter loaded no XDP program that `ip link` shows")
            write_xdp_filter_maps(self.prog_id, tr["commands"])
        else:
            # One shell in the namespace for all entries (entering it once per entry would double
            # the setup time).
            with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as script:
                script.write("set -e\n" + "".join(
                    " ".join(shlex.quote(a) for a in self.env + cmd) + "\n" for cmd in tr["commands"]))
            try:
                run(lab.sut(["sh", script.name]))
            finally:
                os.unlink(script.name)

    def counters(self):
        out = run(self.lab.sut(self.env + ["status"])).stdout
        counts, section = {}, None
        for line in out.splitlines():
            if line.startswith("Filtered"):
                section = line
                continue
            m = re.match(r"\s+(\S+)\s+(\S+)\s+(\d+)\s*$", line)
            if section and m and m.group(1) in self.keys:
                counts[self.keys[m.group(1)]] = int(m.group(3))
        return counts, None

    def close(self):
        run(self.lab.sut(self.env + ["unload", self.lab.sut_if]), check=False)
        shutil.rmtree(self.pins, ignore_errors=True)


# xdp-filter's map values (xdp-tools common_kern_user.h): mode and protocol flags in the low bits
# of a per-CPU u64 whose upper bits (from bit 6) count hits.
XDP_FILTER_FLAGS = {"src": 1, "dst": 2, "tcp": 4, "udp": 8}


def write_xdp_filter_maps(prog_id, commands):
    """Writes `xdp-filter ip|port` entries straight into the maps of its loaded program with one
    `bpftool batch`: the same keys and values xdp-filter itself writes (filter_ipv4/filter_ipv6:
    the address in network order; filter_ports: the port in network order in a u32 key), which
    the correctness pass then checks through `xdp-filter status` and traffic. The maps are found
    by the program's id, not by pin: inside `ip netns exec`, xdp-filter pins them in whichever
    bpffs it finds first. bpftool copies a per-CPU value to every CPU."""
    map_ids = json.loads(run(["bpftool", "-j", "prog", "show", "id", str(prog_id)]).stdout).get("map_ids", [])
    by_name = {json.loads(run(["bpftool", "-j", "map", "show", "id", str(m)]).stdout)["name"]: m for m in map_ids}
    entries = {}
    for cmd in commands:
        opts = dict(zip(cmd[2::2], cmd[3::2]))
        flags = XDP_FILTER_FLAGS[opts.get("--mode", "dst")]
        if cmd[0] == "ip":
            v6 = ":" in cmd[1]
            key = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, cmd[1])
            m = "filter_ipv6" if v6 else "filter_ipv4"
        elif cmd[0] == "port":
            key = struct.pack("!H", int(cmd[1])) + b"\0\0"
            flags |= XDP_FILTER_FLAGS[opts["--proto"]]
            m = "filter_ports"
        else:
            raise ValueError(f"xdp-filter command {cmd[0]!r}")
        if m not in by_name:
            raise RuntimeError(f"xdp-filter's program (id {prog_id}) has no map {m}: load it with that feature")
        entries[(m, key)] = entries.get((m, key), 0) | flags
    with tempfile.NamedTemporaryFile("w", suffix=".batch", delete=False) as batch:
        for (m, key), flags in entries.items():
            batch.write(f"map update id {by_name[m]} key {' '.join(map(str, key))} "
                        f"value {' '.join(map(str, struct.pack('<Q', flags)))}\n")
    try:
        run(["bpftool", "batch", "file", batch.name])
    finally:
        os.unlink(batch.name)


class Iptables(LiveSystem):
    def __init__(self, tools, lab, rs, bpffs, backend):
        self.lab, self.backend = lab, backend
        self.holder = Holder(tools, lab, "pass")
        with open(os.path.join(rs["dir"], "rules.raw.iptables")) as f:
            r = run(lab.sut([f"iptables-{backend}-restore"]), input=f.read(), check=False)
        if r.returncode != 0:
            self.close()
            raise Refused(r.stderr.strip())

    def counters(self):
        out = run(self.lab.sut([f"iptables-{self.backend}-save", "-c", "-t", "raw"])).stdout
        counts, policy, n = {}, None, 0
        for line in out.splitlines():
            m = re.match(r":PREROUTING \S+ \[(\d+):\d+\]", line)
            if m:
                policy = int(m.group(1))
            m = re.match(r"\[(\d+):\d+\] -A PREROUTING", line)
            if m:
                n += 1
                counts[n] = int(m.group(1))
        return counts, policy

    def close(self):
        run(self.lab.sut([f"iptables-{self.backend}", "-t", "raw", "-F"]), check=False)
        self.holder.close()


class Nftables(LiveSystem):
    has_policy = False  # a base chain's policy has no counter

    def __init__(self, tools, lab, rs, bpffs):
        self.lab = lab
        self.holder = Holder(tools, lab, "pass")
        r = run(lab.sut(["nft", "-f", os.path.join(rs["dir"], "rules.nft")]), check=False)
        if r.returncode != 0:
            self.close()
            raise Refused(r.stderr.strip()[-300:])

    def counters(self):
        data = json.loads(run(self.lab.sut(["nft", "-j", "list", "table", "ip", "xfwbench"])).stdout)
        counts = {}
        for item in data["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            n = int(rule.get("comment", "r0")[1:])
            for e in rule["expr"]:
                if "counter" in e:
                    counts[n] = e["counter"]["packets"]
        return counts, None

    def close(self):
        run(self.lab.sut(["nft", "delete", "table", "ip", "xfwbench"]), check=False)
        self.holder.close()


class Dpdk(LiveSystem):
    def __init__(self, tools, lab, rs, bpffs, pmd, drop_all):
        self.lab = lab
        self.holder = Holder(tools, lab, "pass") if pmd == "af_packet" else None
        self.verified = not drop_all
        vdev = (f"net_af_packet0,iface={lab.sut_if},framecnt=8192,qdisc_bypass=1" if pmd == "af_packet"
                else f"net_af_xdp0,iface={lab.sut_if}")
        mode = ["--drop-all"] if drop_all else ["--rules", os.path.join(rs["dir"], "rules.classbench"), "--family", "v4"]
        pins = os.path.join(bpffs.path, lab.sut_ns + "-dpdk")
        os.makedirs(pins, exist_ok=True)
        try:
            self.dpdk = DpdkProc(tools, lab, vdev, mode, pins)
        except RuntimeError as e:
            if self.holder:
                self.holder.close()
            raise Skip(str(e))
        self.pids = (self.dpdk.pid(),)
        self.last = None

    def processed(self):
        self.last = self.dpdk.snapshot()
        return self.last["received"]

    def counters(self):
        s = self.dpdk.snapshot()
        return {int(k): v[0] for k, v in s["rule_counts"].items()}, s["policy"][0]

    def close(self):
        self.dpdk.stop_and_error()
        if self.holder:
            self.holder.close()


def make_live(system, tools, lab, rs, bpffs):
    if system == "xdp-drop":
        return XdpDrop(tools, lab, rs, bpffs)
    if system == "xfw":
        return Xfw(tools, lab, rs, bpffs)
    if system == "xdp-filter":
        return XdpFilter(tools, lab, rs, bpffs)
    if system.startswith("iptables-"):
        return Iptables(tools, lab, rs, bpffs, system.split("-", 1)[1])
    if system == "nftables":
        return Nftables(tools, lab, rs, bpffs)
    if system.startswith("dpdk-"):
        _, what, pmd = system.split("-", 2)
        return Dpdk(tools, lab, rs, bpffs, pmd, what == "drop")
    raise ValueError(system)


def generate(tools, lab, trace_path, seconds=None):
    argv = [tools.trafficgen, "--ifname", lab.gen_if, "--netns", lab.gen_ns, "--pcap", trace_path,
            "--dst-mac", lab.sut_mac, "--cpu", "0"]
    argv += ["--seconds", str(seconds), "--burst", "256"] if seconds else ["--once"]
    out = run(argv).stdout
    return {k: float(v) for k, v in (kv.split("=") for kv in out.split())}


def wait_settled(sys_, counted_total, start_total, timeout=2.0):
    """Polls the counters until they reach the packets the system counts (or stop moving: DPDK and
    the stack may lag the generator, and a wrong system may never get there)."""
    deadline, last = time.time() + timeout, None
    while True:
        counts, policy = sys_.counters()
        total = sum(counts.values()) + (policy or 0)
        if total - start_total >= counted_total or total == last or time.time() > deadline:
            return counts, policy
        last = total
        time.sleep(0.05)


def live_point(tools, system, rs, cfg, bpffs, labs, profile, refusals):
    """Sets the system up on `labs`' lab (one per system, kept across its rulesets), checks the
    per-rule counts of every 64-byte trace, times `cfg["runs"]` runs of the live trace."""
    trace = cfg["live_trace"]
    p = base_point(system, "live", rs, trace)
    if not bpffs.mounted and system in ("xfw", "xdp-filter", "dpdk-acl-af_xdp", "dpdk-drop-af_xdp"):
        p["status"], p["message"] = "skipped", f"no bpffs: {bpffs.error}"
        return [p]
    if system == "xfw" and ("xfw", rs["name"]) in refusals:
        # The same compile path (restore, plan, verify) refused it in the test-run phase.
        p["status"], p["message"] = "refused", refusals[("xfw", rs["name"])]
        log(f"{system} {rs['name']} live: refused (in the test-run phase)")
        return [p]
    extra = []
    watch = Stopwatch()
    times = {}
    try:
        lab = labs.get()
        try:
            s = make_live(system, tools, lab, rs, bpffs)
        except (Refused, Skip) as e:
            p["status"], p["message"] = ("skipped" if isinstance(e, Skip) else "refused"), str(e)
            log(f"{system} {rs['name']} live: {p['status']}: {p['message']}")
            return [p]
        finally:
            times["setup"] = watch.lap()
        p["info"]["load_ms"] = round(times["setup"] * 1e3, 1)
        if getattr(s, "entries_by", None):
            p["info"]["entries_written_by"] = s.entries_by
        try:
            # Correctness: every 64-byte trace of the ruleset and one of mixed sizes (all of them are
            # checked without I/O in the other phases), counted per rule.
            if s.verified:
                problems = []
                listed = set(s.keys.values()) if isinstance(s, XdpFilter) else None
                checked = {n: e for n, e in rs["expected"]["traces"].items() if n.endswith("-64") or n == "last-mixed"}
                # Each trace's counts after are the next one's before: reading a 10 000-rule
                # nftables or iptables-nft table takes seconds.
                before, pol0 = s.counters()
                for name, exp in checked.items():
                    generate(tools, lab, os.path.join(rs["dir"], exp["file"]))
                    counted = sum(v[0] for k, v in exp["rule_counts"].items() if listed is None or int(k) in listed)
                    counted += exp["policy"][0] if s.has_policy else 0
                    after, pol1 = wait_settled(s, counted, sum(before.values()) + (pol0 or 0))
                    delta = {n: after.get(n, 0) - before.get(n, 0) for n in set(after) | set(before)}
                    pol = pol1 - pol0 if s.has_policy and pol0 is not None else None
                    problems += [f"{name}: {x}" for x in compare_counts(exp, delta, pol, listed)]
                    before, pol0 = after, pol1
                if problems:
                    p["status"], p["problems"] = "wrong", problems[:8]
                    log(f"{system} {rs['name']} live: WRONG: {problems[:2]}")
                    return [p]
            p["info"]["verified"] = s.verified
            times["check"] = watch.lap()
            if isinstance(s, XdpFilter) and s.prog_id and rs["family"] == "v4":
                extra = xdp_filter_testrun(tools, s, rs, cfg, profile)
                watch.lap()  # profiled as its own test-run entry
            # Timed runs.
            meter = CpuMeter(s.pids)
            path = os.path.join(rs["dir"], rs["expected"]["traces"][trace]["file"])
            offered, mpps, cpu, cpu_rx = [], [], [], []
            for _ in range(cfg["runs"]):
                rx0, c0 = s.processed(), meter.snapshot()
                g = generate(tools, lab, path, cfg["live_seconds"])
                if s.dpdk:
                    time.sleep(0.05)  # let the application drain its rings
                c1, rx1 = meter.snapshot(), s.processed()
                n = rx1 - rx0
                offered.append(g["frames"] / g["seconds"] / 1e6)
                if n <= 0:
                    continue
                mpps.append(n / g["seconds"] / 1e6)
                cpu.append((c1 - c0 + g["thread_cpu_seconds"]) / (n / 1e6))
                cpu_rx.append((c1 - c0) / (n / 1e6))
            times["timed"] = watch.lap()
            if not mpps:
                p["status"], p["message"] = "error", "no packet reached the system during the timed runs"
                return [p]
            p["metrics"] = {"offered_mpps": stats(offered), "mpps": stats(mpps), "cpu_s_per_mpkt": stats(cpu),
                            "cpu_rx_s_per_mpkt": stats(cpu_rx)}
            log(f"{system} {rs['name']} live: {p['metrics']['mpps']['median']:.3f} Mpps of "
                f"{p['metrics']['offered_mpps']['median']:.2f} offered, "
                f"{p['metrics']['cpu_s_per_mpkt']['median']:.3f} CPU s/Mpkt")
        finally:
            s.close()
    except (CommandError, RuntimeError, OSError) as e:
        p["status"], p["message"] = "error", str(e)[-500:]
        log(f"{system} {rs['name']} live: error: {p['message']}")
        labs.discard()  # whatever failed may have left state behind: the next point gets a fresh lab
    finally:
        times["close"] = watch.lap()
        profile.add(system, "live", rs, **times)
    return [p] + extra


def xdp_filter_testrun(tools, s, rs, cfg, profile):
    traces = [t for t in cfg["testrun_traces"] if t in rs["expected"]["traces"]]
    pts = testrun_points(tools, "xdp-filter", rs, traces, cfg, ["--prog-id", str(s.prog_id)], profile)
    for p in pts:
        p["info"]["verified"] = "live"  # its per-entry counts were checked on the veth
    return pts


def add_ratios(points):
    """ratio_to_floor: median of each metric over the floor's median (same method, ruleset, trace)."""
    index = {(p["system"], p["method"], p["ruleset"], p["trace"]): p for p in points}
    for p in points:
        floor_name = FLOORS.get(p["method"])
        if p["method"] == "live" and p["system"].startswith("dpdk-acl"):
            floor_name = "dpdk-drop-af_xdp"
        f = index.get((floor_name, p["method"], p["ruleset"], p["trace"]))
        if not f or f is p or not p["metrics"] or not f["metrics"]:
            continue
        p["floor"] = floor_name
        p["ratio_to_floor"] = {}
        for k, v in p["metrics"].items():
            # rte_acl's classification alone has no floor; its whole loop (receive, classify,
            # free) is compared with the drop-all loop (receive, free).
            if p["method"] == "dpdk-pcap" and p["system"] == "dpdk-acl":
                if k != "loop_ns_per_packet":
                    continue
                fv = f["metrics"].get("loop_ns_per_packet")
            else:
                fv = f["metrics"].get(k)
            if v and fv and fv["median"]:
                p["ratio_to_floor"][k] = round(v["median"] / fv["median"], 3)
