"""Small helpers: running commands, logging, summary statistics."""
import statistics
import subprocess
import sys
import time

_t0 = time.time()


def log(msg):
    print(f"[{time.time() - _t0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def run(argv, check=True, input=None, timeout=600):
    """Runs argv (no shell), capturing text output; raises CommandError when check and it fails."""
    try:
        r = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        r = subprocess.CompletedProcess(argv, 127, "", f"{argv[0]}: command not found")
    except subprocess.TimeoutExpired:
        r = subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout} s")
    if check and r.returncode != 0:
        raise CommandError(argv, r)
    return r


class CommandError(Exception):
    def __init__(self, argv, result):
        self.argv, self.result = argv, result
        err = (result.stderr or result.stdout or "").strip().splitlines()
        super().__init__(f"`{' '.join(argv[:6])}{' ...' if len(argv) > 6 else ''}` exited with {result.returncode}: "
                         f"{err[-1] if err else '(no output)'}")


class Stopwatch:
    """Laps of wall time, for the suite's profile of where its own time goes."""

    def __init__(self):
        self.start = self.last = time.monotonic()

    def lap(self):
        now = time.monotonic()
        d, self.last = now - self.last, now
        return round(d, 3)

    def total(self):
        return round(time.monotonic() - self.start, 3)


class Profile:
    """Where the suite's own time goes: wall seconds of setup (tools, namespaces, rules loaded),
    correctness check and timed runs, per system, method and ruleset."""

    def __init__(self):
        self.entries = []

    def add(self, system, method, rs, **seconds):
        self.entries.append(dict({"system": system, "method": method, "ruleset": rs["name"]},
                                 **{k: round(v, 3) for k, v in seconds.items()}))


def stats(values):
    """{"runs": [...], "median", "min", "max"} of the measured values (None if there are none)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"runs": [round(v, 4) for v in vals], "median": round(statistics.median(vals), 4),
            "min": round(min(vals), 4), "max": round(max(vals), 4)}
