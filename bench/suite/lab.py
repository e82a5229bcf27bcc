"""The live lab: two network namespaces joined by a single-queue veth pair, a private bpffs, and
CPU accounting.

    namespace xfwb-<pid>-<n>-g           namespace xfwb-<pid>-<n>-s
    xbg<n> (traffic generator)  <== veth ==>  xbs<n> (system under test)

IPv6 is disabled in both namespaces and nothing else runs there, so the receiving end's
counters move only for the suite's frames.
"""
import glob
import itertools
import os
import re
import shutil
import subprocess

from suite.util import run

_counter = itertools.count(1)


def _ns_alive_pid(name):
    m = re.match(r"xfwb-(\d+)-", name)
    return m and os.path.exists(f"/proc/{m.group(1)}")


def remove_stale():
    """Deletes namespaces of earlier suite runs whose process is gone."""
    r = run(["ip", "netns", "list"], check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith("xfwb-") and not _ns_alive_pid(name):
            run(["ip", "netns", "del", name], check=False)


def lab_problem():
    """Why a lab cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) for namespaces and veth pairs"
    if not shutil.which("ip"):
        return "iproute2 (`ip`) is not installed: apt-get install iproute2"
    try:
        with Lab():
            pass
    except Exception as e:  # noqa: BLE001 - the reason is reported, not hidden
        return f"cannot create a veth pair between two namespaces: {e}"
    return None


class Lab:
    def __init__(self):
        n = next(_counter)
        base = f"xfwb-{os.getpid()}-{n}"
        self.gen_ns, self.sut_ns = base + "-g", base + "-s"
        tag = f"{os.getpid() % 10000}x{n}"
        self.gen_if, self.sut_if = f"xbg{tag}", f"xbs{tag}"
        self.sut_mac = None

    def __enter__(self):
        remove_stale()
        try:
            for ns in (self.gen_ns, self.sut_ns):
                run(["ip", "netns", "add", ns])
                # /proc/sys directly: sysctl(8) lives in /usr/sbin, which a user's PATH may lack.
                run(["ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && "
                     "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"])
            run(["ip", "link", "add", self.gen_if, "numtxqueues", "1", "numrxqueues", "1", "netns", self.gen_ns,
                 "type", "veth", "peer", "name", self.sut_if, "numtxqueues", "1", "numrxqueues", "1", "netns", self.sut_ns])
            run(["ip", "-n", self.gen_ns, "link", "set", self.gen_if, "up"])
            run(["ip", "-n", self.sut_ns, "link", "set", self.sut_if, "up"])
            run(["ip", "-n", self.sut_ns, "link", "set", "lo", "up"])
            import json
            info = json.loads(run(["ip", "-n", self.sut_ns, "-j", "link", "show", self.sut_if]).stdout)
            self.sut_mac = info[0]["address"]
        except Exception:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def cleanup(self):
        run(["ip", "-n", self.sut_ns, "link", "del", self.sut_if], check=False)
        for ns in (self.gen_ns, self.sut_ns):
            run(["ip", "netns", "del", ns], check=False)

    def sut(self, argv):
        return ["ip", "netns", "exec", self.sut_ns] + argv

    def rx_packets(self):
        import json
        info = json.loads(run(["ip", "-n", self.sut_ns, "-s", "-j", "link", "show", self.sut_if]).stdout)
        return info[0]["stats64"]["rx"]["packets"]


class LabKeeper:
    """One lab kept across a system's rulesets (each system cleans up after a point: detach,
    flush, unload), made again after a point failed in a way that may have left state behind."""

    def __init__(self):
        self.lab = None

    def get(self):
        if self.lab is None:
            self.lab = Lab().__enter__()
        return self.lab

    def discard(self):
        if self.lab is not None:
            self.lab.cleanup()
            self.lab = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()


class Bpffs:
    """A private bpffs mounted at /run/xfw-bench-bpf-<pid> (bpffs is not mounted on these
    machines, and `ip netns exec` hides /sys/fs/bpf); unmounted and removed on exit."""

    def __init__(self):
        self.path = f"/run/xfw-bench-bpf-{os.getpid()}"
        self.mounted = False

    def __enter__(self):
        for stale in glob.glob("/run/xfw-bench-bpf-*"):
            pid = stale.rsplit("-", 1)[-1]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                run(["umount", stale], check=False)
                shutil.rmtree(stale, ignore_errors=True)
        os.makedirs(self.path, exist_ok=True)
        r = run(["mount", "-t", "bpf", "bpf", self.path], check=False)
        self.mounted = r.returncode == 0
        self.error = None if self.mounted else (r.stderr.strip() or "mount -t bpf failed")
        return self

    def __exit__(self, *exc):
        if self.mounted:
            run(["umount", self.path], check=False)
        shutil.rmtree(self.path, ignore_errors=True)


# ---- CPU accounting -------------------------------------------------------------------------------

def _clk_tck():
    return os.sysconf("SC_CLK_TCK")


def _ksoftirqd_pids():
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/comm") as f:
                if f.read().startswith("ksoftirqd/"):
                    pids.append(int(d.rsplit("/", 1)[1]))
        except OSError:
            pass
    return pids


def _task_ns(pid):
    """CPU time (ns) of a task and, for a process, all its threads (schedstat run time)."""
    total = 0
    for t in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(t).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


class CpuMeter:
    """CPU seconds spent on the receive side during a window: interrupt and softirq time of
    every CPU (/proc/stat; veth NAPI, XDP programs and the kernel stack run there), the
    ksoftirqd threads (softirq work deferred to them) and the system's own processes (the
    DPDK application). The generator's own thread time is added by the caller from its output."""

    def __init__(self, pids=()):
        self.pids = list(pids)
        self.ksoftirqd = _ksoftirqd_pids()

    def snapshot(self):
        irq = 0
        with open("/proc/stat") as f:
            for line in f:
                if re.match(r"cpu\d", line):
                    v = line.split()
                    irq += int(v[6]) + int(v[7])  # irq, softirq (USER_HZ ticks)
        tasks = sum(_task_ns(p) for p in self.ksoftirqd + self.pids)
        return irq / _clk_tck() + tasks / 1e9
