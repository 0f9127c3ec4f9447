"""Throughput of the code verifier (rest/code/) against HumanEval's reference harness, on one mixed batch.

    .venv/bin/python bench/code_sandbox.py      # from the repository root: 60 programs, 1 s timeout, workers = cores

The batch: 10 small functions x 6 programs each (2 correct, 2 wrong, 1 runtime error, 1 infinite loop), every
program distinct (so that the verifier's dedupe and cache do not help), each judged on 3-4 assert tests.
Methods, on the same batch in the same run, the same timeout:
(a) CodeVerifier(workers=cores): one sandboxed `python -I` per program (prlimit, namespaces, all tests in one run);
    limits: wall_seconds = timeout, cpu_seconds = ceil(timeout);
(b) HumanEval's reference harness (human_eval/execution.py, check_correctness), re-implemented below as it is: per
    program a multiprocessing.Manager and a forked Process that runs reliability_guard, then exec's program +
    `check(candidate)` under a signal.setitimer timeout; its driver's ThreadPoolExecutor(cores) runs them.
Both run on the mixed batch and again without its infinite loops (the timeouts, 1 s each, dominate the first).
Prints a table (programs/s, per core), whether pass/fail agree program by program, the fixed cost of one trivial
correct program (ms per run, sequential); writes the same as JSON to --out, with the CPU flags, how busy the
cores were before (other work lowers every figure) and how much parallel CPU work the cores really give.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import io
import json
import logging
import math
import multiprocessing
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from rest.code.asserts import judge_asserts
from rest.code.sandbox import Limits, run_python
from rest.code.tests import CodeTests
from rest.code.verifier import CodeVerifier

log = logging.getLogger("bench")
# name, parameters, a correct body, another correct body, a wrong body, a wrong edge case, tests ({f}: the function)
PROBLEMS = [
    ("add", "a, b", "return a + b", "import operator\n    return operator.add(a, b)", "return a - b",
     "return a + b if a else b - 1", ["assert {f}(2, 3) == 5", "assert {f}(-1, 1) == 0", "assert {f}(0, 7) == 7"]),
    ("square", "x", "return x * x", "return x ** 2", "return x + x", "return abs(x) * x",
     ["assert {f}(3) == 9", "assert {f}(-4) == 16", "assert {f}(2) == 4"]),
    ("is_even", "n", "return n % 2 == 0", "return not n & 1", "return n % 2 == 1", "return n % 4 == 0",
     ["assert {f}(4) is True", "assert {f}(7) is False", "assert {f}(6) is True"]),
    ("reverse", "s", "return s[::-1]", "return ''.join(reversed(s))", "return s", "return s[:0:-1]",
     ["assert {f}('abc') == 'cba'", "assert {f}('') == ''", "assert {f}('ab') == 'ba'"]),
    ("factorial", "n", "import math\n    return math.factorial(n)",
     "out = 1\n    for k in range(2, n + 1):\n        out *= k\n    return out", "return n * (n - 1)",
     "return 1 if n < 2 else n * (n - 1)", ["assert {f}(0) == 1", "assert {f}(5) == 120", "assert {f}(3) == 6"]),
    ("fib", "n", "a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
     "import functools\n    g = functools.cache(lambda k: k if k < 2 else g(k - 1) + g(k - 2))\n    return g(n)",
     "return n", "return n if n < 3 else n + 1",
     ["assert {f}(10) == 55", "assert {f}(1) == 1", "assert {f}(2) == 1", "assert {f}(7) == 13"]),
    ("max_of", "xs", "return max(xs)", "return sorted(xs)[-1]", "return xs[0]", "return sorted(xs)[-2]",
     ["assert {f}([1, 5, 2]) == 5", "assert {f}([-3, -1]) == -1", "assert {f}([4]) == 4"]),
    ("count_vowels", "s", "return sum(c in 'aeiou' for c in s.lower())",
     "import re\n    return len(re.findall('[aeiou]', s, re.I))", "return len(s)",
     "return sum(c in 'aeiou' for c in s)",
     ["assert {f}('hello') == 2", "assert {f}('xyz') == 0", "assert {f}('AEIOU') == 5"]),
    ("is_palindrome", "s", "return s == s[::-1]", "return all(s[i] == s[-1 - i] for i in range(len(s) // 2))",
     "return True", "return s[0] == s[-1]", ["assert {f}('abba')", "assert not {f}('abca')", "assert {f}('')"]),
    ("sum_digits", "n", "return sum(int(d) for d in str(abs(n)))",
     "n = abs(n)\n    out = 0\n    while n:\n        out, n = out + n % 10, n // 10\n    return out",
     "return n % 10", "return sum(int(d) for d in str(n))",
     ["assert {f}(123) == 6", "assert {f}(-45) == 9", "assert {f}(0) == 0"]),
]


def make_batch() -> list[dict]:
    """60 programs: per problem 2 correct, 2 wrong, a runtime error and an infinite loop; kinds by construction."""
    batch = []
    for name, params, right, right2, wrong, edge, tests in PROBLEMS:
        bodies = [("correct", right), ("correct", right2), ("wrong", wrong), ("wrong", edge),
                  ("runtime_error", f"return {name}_helper({params})"), ("timeout", "while True:\n        pass")]
        for kind, body in bodies:
            check = "".join(f"    {t.format(f='candidate')}\n" for t in tests)
            batch.append({"problem": name, "kind": kind, "program": f"def {name}({params}):\n    {body}\n",
                          "asserts": [t.format(f=name) for t in tests], "check": "def check(candidate):\n" + check})
    return batch


# --- HumanEval's reference harness (human_eval/execution.py), re-implemented as it is -----------------------------
class TimeoutException(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    def signal_handler(signum, frame):
        raise TimeoutException("Timed out!")
    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.signal(signal.SIGALRM, signal_handler)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


class WriteOnlyStringIO(io.StringIO):
    def read(self, *args, **kwargs):
        raise OSError

    def readline(self, *args, **kwargs):
        raise OSError

    def readable(self, *args, **kwargs):
        return False


class redirect_stdin(contextlib._RedirectStream):
    _stream = "stdin"


@contextlib.contextmanager
def swallow_io():
    stream = WriteOnlyStringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream), redirect_stdin(stream):
        yield


def reliability_guard() -> None:
    """human_eval's guard (maximum_memory_bytes=None, its default): disables destructive functions in the child."""
    import builtins

    faulthandler.disable()
    builtins.exit = builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
                 "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown",
                 "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
        setattr(os, name, None)
    shutil.rmtree = shutil.move = shutil.chown = None
    subprocess.Popen = None
    for module in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[module] = None


def check_correctness(program: str, test: str, entry_point: str, timeout: float) -> bool:
    def unsafe_execute():
        with tempfile.TemporaryDirectory() as dirname, contextlib.chdir(dirname):
            rmtree, rmdir, chdir = shutil.rmtree, os.rmdir, os.chdir  # needed to clean up the temporary directory
            reliability_guard()
            check_program = program + "\n" + test + "\n" + f"check({entry_point})"
            try:
                with swallow_io(), time_limit(timeout):
                    exec(check_program, {})  # noqa: S102  (the reference harness runs the program in-process)
                result.append("passed")
            except TimeoutException:
                result.append("timed out")
            except BaseException as e:  # noqa: BLE001  (as the reference harness does)
                result.append(f"failed: {e}")
            shutil.rmtree, os.rmdir, os.chdir = rmtree, rmdir, chdir

    manager = multiprocessing.Manager()
    result = manager.list()
    process = multiprocessing.Process(target=unsafe_execute)
    process.start()
    process.join(timeout=timeout + 1)
    if process.is_alive():
        process.kill()
    return bool(result) and result[0] == "passed"  # the manager shuts down when collected, as in human_eval


def run_verifier(batch: list[dict], limits: Limits, workers: int) -> list[bool]:
    references = [CodeTests.parse(p["asserts"], entry_point=p["problem"]).to_json() for p in batch]
    with CodeVerifier(limits=limits, workers=workers) as verifier:
        return [v.correct for v in verifier.judge([p["program"] for p in batch], references)]


def run_human_eval(batch: list[dict], timeout: float, workers: int) -> list[bool]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(check_correctness, p["program"], p["check"], p["problem"], timeout) for p in batch]
        return [future.result() for future in futures]


def timed(name: str, cores: int, judge, batch: list[dict]) -> dict:
    start = time.perf_counter()
    passed = judge(batch)
    seconds = time.perf_counter() - start
    wrong = [i for i, (ok, p) in enumerate(zip(passed, batch)) if ok != (p["kind"] == "correct")]
    log.info("%s: %.2f s, %d programs judged against their construction label wrongly", name, seconds, len(wrong))
    return {"method": name, "cores": cores, "seconds": seconds, "programs_per_s": len(batch) / seconds,
            "programs_per_s_per_core": len(batch) / seconds / cores, "passed": passed,
            "wrong_vs_construction": [batch[i]["problem"] + "/" + batch[i]["kind"] for i in wrong]}


def overhead_ms(limits: Limits, timeout: float, runs: int) -> dict:
    """ms per run of one trivial correct program, one at a time."""
    tests = CodeTests.parse(["assert f(1) == 1"], entry_point="f")
    ways = {"sandbox run_python('pass')": lambda: run_python("pass", b"", limits),
            "judge_asserts (sandbox + harness)": lambda: judge_asserts("def f(x):\n    return x", tests, limits),
            "human_eval check_correctness": lambda: check_correctness(
                "def f(x):\n    return x", "def check(candidate):\n    assert candidate(1) == 1", "f", timeout)}
    out = {}
    for name, once in ways.items():
        once()  # warm
        start = time.perf_counter()
        for _ in range(runs):
            once()
        out[name] = 1000 * (time.perf_counter() - start) / runs
    return out


def cpu_flags() -> list[str]:
    flags = Path("/proc/cpuinfo").read_text().split()
    return sorted({f for f in flags if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")})


def busy_fraction(seconds: float = 1.0) -> float:
    """Fraction of all cores busy over the next `seconds` (/proc/stat): other work competing with the timing."""
    def idle_total():
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)

    (idle0, total0), _ = idle_total(), time.sleep(seconds)
    idle1, total1 = idle_total()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def parallel_speedup(workers: int) -> float:
    """How many times one CPU-bound process's work `workers` processes do in the same time (ideal: `workers`):
    virtual CPUs that share a physical core give less."""
    loop = [sys.executable, "-c", "for _ in range(10**7): pass"]

    def seconds(n: int) -> float:
        start = time.perf_counter()
        for process in [subprocess.Popen(loop) for _ in range(n)]:
            process.wait()
        return time.perf_counter() - start
    return workers * seconds(1) / seconds(workers)


def compare(batch: list[dict], limits: Limits, timeout: float, workers: int, label: str) -> dict:
    """Both methods on `batch`, one after the other, and where their pass/fail differ."""
    results = {"a": timed(f"CodeVerifier workers={workers}{label}", workers,
                          lambda b: run_verifier(b, limits, workers), batch),
               "b": timed(f"human_eval check_correctness, {workers} threads{label}", workers,
                          lambda b: run_human_eval(b, timeout, workers), batch)}
    disagree = [f"{p['problem']}/{p['kind']}" for p, x, y in zip(batch, results["a"]["passed"], results["b"]["passed"])
                if x != y]
    return {"programs": len(batch), "results": results, "disagreements": disagree}


def print_table(config: dict, runs: dict, overhead: dict) -> None:
    print(f"\n{config['programs']} programs ({config['kinds']}), timeout {config['timeout_s']} s, os.cpu_count() = "
          f"{config['cpu_count']}, CPU flags: {' '.join(config['cpu_flags'])}; cores busy before: "
          f"{100 * config['cores_busy_before']:.0f}%; {config['workers']} CPU-bound processes at once do "
          f"{config['cpu_parallel_speedup']:.2f}x the work of one\n")
    print("| method | batch | cores | seconds | programs/s | programs/s per core | passed | agree |")
    print("|---|---|---|---|---|---|---|---|")
    for batch, run in runs.items():
        for key, r in run["results"].items():
            print(f"| ({key}) {r['method']} | {batch} ({run['programs']}) | {r['cores']} | {r['seconds']:.2f} "
                  f"| {r['programs_per_s']:.1f} | {r['programs_per_s_per_core']:.1f} | {sum(r['passed'])} "
                  f"| {run['programs'] - len(run['disagreements'])} / {run['programs']} |")
    print("\none trivial correct program, sequential: " + ", ".join(f"{k}: {v:.1f} ms" for k, v in overhead.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=1.0, help="seconds per program, both methods")
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="programs at once, both methods")
    ap.add_argument("--overhead-runs", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("bench/results/code_sandbox.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    limits = Limits(cpu_seconds=math.ceil(args.timeout), wall_seconds=args.timeout, memory_mb=512, file_mb=16,
                    open_files=64, processes=32, output_bytes=1 << 20)
    batch = make_batch()
    config = {"programs": len(batch), "kinds": dict(Counter(p["kind"] for p in batch)), "timeout_s": args.timeout,
              "workers": args.workers, "cpu_count": os.cpu_count(), "cpu_flags": cpu_flags(),
              "python": platform.python_version(), "limits": limits.__dict__,
              "start_method": multiprocessing.get_start_method(), "cores_busy_before": busy_fraction(),
              "cpu_parallel_speedup": parallel_speedup(args.workers)}
    log.info("batch: %s", config)
    run_python("pass", b"", limits)  # the sandbox's one-time namespace probe, outside the timing
    runs = {"mixed": compare(batch, limits, args.timeout, args.workers, ""),
            "no timeouts": compare([p for p in batch if p["kind"] != "timeout"], limits, args.timeout, args.workers,
                                   ", no timeouts")}
    overhead = overhead_ms(limits, args.timeout, args.overhead_runs)
    print_table(config, runs, overhead)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"config": config, "runs": runs, "overhead_ms_per_run": overhead}, indent=2) + "\n")
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
