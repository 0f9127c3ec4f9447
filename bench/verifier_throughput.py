"""Throughput and accuracy of `rest.verifier` against math-verify on one realistic ReST grading batch.

Run from the repository root:

    .venv/bin/python bench/verifier_throughput.py                     # 10,000 pairs, all four methods
    .venv/bin/python bench/verifier_throughput.py --pairs 2000 --skip-math-verify

Methods, on the same pairs in the same run: (a) Verifier(workers=0), in-process; (b) Verifier(workers=1);
(c) Verifier(workers=None), one worker per core; (d) math-verify's parse + verify, one process, main thread,
the reference passed as "$" + reference + "$". Each method is created and warmed up (pairs of every kind
from another seed) before timing; that start-up is reported apart. The batch (bench/verifier_pairs.py) is
--pairs / 8 problems x 8 completions, labels from construction, no pathological inputs (exponent towers), so
timeouts are not exercised. Prints a markdown table and the (a)/(d), (c)/(d), (c)/cores/(d) ratios, and writes
the same, with status counts, per-kind accuracy and the first 15 disagreements per method, as JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections import Counter
from pathlib import Path

from verifier_pairs import make_pairs  # bench/ is on sys.path when this file is run as a script

log = logging.getLogger("bench")


def warm_up_pairs(seed: int, per_kind: int) -> list:
    """per_kind pairs of every kind, from another seed: the pool starts lazily, on the first pair that needs
    sympy, and each worker imports sympy on its first task, so the warm-up must reach all of them."""
    warm, taken = [], Counter()
    for pair in make_pairs(max(2000, 100 * per_kind), seed + 1):
        taken[pair.kind] += 1
        if taken[pair.kind] <= per_kind:
            warm.append(pair)
    return warm


def busy_fraction(seconds: float = 1.0) -> float | None:
    """Fraction of all cores busy over the next `seconds` (Linux /proc/stat), measured before timing."""
    def idle_total():
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, all

    if not Path("/proc/stat").exists():
        return None
    (idle0, total0), _ = idle_total(), time.sleep(seconds)
    idle1, total1 = idle_total()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def measure(name, cores, grade, pairs, warm) -> dict:
    """grade(pairs) -> bools or Verdicts. The warm-up (start-up) is timed apart from the batch."""
    t0 = time.perf_counter()
    grade(warm)
    t1 = time.perf_counter()
    out = grade(pairs)
    elapsed = time.perf_counter() - t1
    correct = [getattr(x, "correct", x) for x in out]
    ok = [c == p.label for c, p in zip(correct, pairs)]
    wrong = [i for i, good in enumerate(ok) if not good]
    examples = [{"index": i, "kind": pairs[i].kind, "format": pairs[i].fmt, "label": pairs[i].label,
                 "correct": correct[i], "extracted": getattr(out[i], "extracted", None),
                 "status": getattr(out[i], "status", None), "reference": pairs[i].reference,
                 "completion_end": pairs[i].completion[-90:]} for i in wrong[:15]]
    kinds = Counter(p.kind for p in pairs)
    result = {"method": name, "cores": cores, "startup_s": t1 - t0, "elapsed_s": elapsed,
              "pairs_per_s": len(pairs) / elapsed, "pairs_per_s_per_core": len(pairs) / elapsed / cores,
              "accuracy": sum(ok) / len(ok), "disagreements": len(wrong),
              "statuses": dict(Counter(x.status for x in out)) if hasattr(out[0], "status") else None,
              "accuracy_by_kind": {k: sum(o for o, p in zip(ok, pairs) if p.kind == k) / n for k, n in kinds.items()},
              "examples": examples}
    log.info("%s: %.1f pairs/s, accuracy %.4f, %d disagreements, statuses %s", name, result["pairs_per_s"],
             result["accuracy"], len(wrong), result["statuses"])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-math-verify", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("bench/results/verifier_throughput.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cpus = os.cpu_count()
    pairs, warm = make_pairs(args.pairs, args.seed), warm_up_pairs(args.seed, max(4, 2 * cpus))
    config = {"pairs": len(pairs), "seed": args.seed, "cpu_count": cpus, "pathological_inputs": False,
              "warm_up_pairs": len(warm),
              "labelled_correct": sum(p.label for p in pairs) / len(pairs),
              "kinds": dict(Counter(p.kind for p in pairs)), "formats": dict(Counter(p.fmt for p in pairs))}
    log.info("batch (no pathological inputs): %s", config)
    log.info("os.cpu_count() = %s, sched_getaffinity = %d", cpus, len(os.sched_getaffinity(0)))
    config["cores_busy_before"] = busy = busy_fraction()
    if busy is not None and busy > 0.1:
        log.warning("%.0f%% of the cores were busy before the run: other processes compete, timings will be low",
                    100 * busy)
    results = measure_methods(pairs, warm, cpus, math_verify=not args.skip_math_verify)
    ratios = ratios_to_math_verify(results)
    print_table(results, ratios, len(pairs), args.seed, cpus)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"config": config, "results": results, "ratios": ratios}, indent=2) + "\n")
    log.info("wrote %s", args.out)


def measure_methods(pairs: list, warm: list, cpus: int, math_verify: bool) -> dict:
    """(a)-(c): rest.verifier with 0, 1 and every worker; (d): math-verify in this process."""
    from rest.config import build, compose

    verifier_settings = compose().verifier  # the run's settings; only `workers` changes between methods
    results = {}
    for key, workers in (("a", 0), ("b", 1), ("c", None)):
        log.info("(%s) rest.verifier workers=%s ...", key, workers)
        t0 = time.perf_counter()
        with build(verifier_settings, workers=workers) as v:
            made = time.perf_counter() - t0
            results[key] = measure(f"rest.verifier workers={workers}", 1 if workers == 0 else workers or cpus,
                                   lambda ps: v.verify([p.completion for p in ps], [p.reference for p in ps]),
                                   pairs, warm)
        results[key]["startup_s"] += made
    if math_verify:
        from math_verify import parse, verify

        log.info("(d) math-verify, one process, main thread (its timeouts use signals) ...")
        results["d"] = measure("math-verify", 1, lambda ps: [
            verify(parse("$" + p.reference + "$"), parse(p.completion)) for p in ps], pairs, warm)
    return results


def ratios_to_math_verify(results: dict) -> dict:
    d = results.get("d", {}).get("pairs_per_s")
    return {"(a)/(d)": results["a"]["pairs_per_s"] / d, "(c)/(d)": results["c"]["pairs_per_s"] / d,
            "(c)/cores/(d)": results["c"]["pairs_per_s_per_core"] / d} if d else {}


def print_table(results: dict, ratios: dict, pairs: int, seed: int, cpus: int) -> None:
    print(f"\n{pairs} pairs, seed {seed}, os.cpu_count() = {cpus}. No pathological inputs (exponent "
          "towers, huge numbers): this is the common case; timeouts are not exercised.\n")
    print("| method | cores | start-up s | pairs/s | pairs/s per core | accuracy vs labels |")
    print("|---|---|---|---|---|---|")
    for key, r in results.items():
        print(f"| ({key}) {r['method']} | {r['cores']} | {r['startup_s']:.2f} | {r['pairs_per_s']:.1f} "
              f"| {r['pairs_per_s_per_core']:.1f} | {r['accuracy']:.4f} |")
    print("\n" + "\n".join(f"({k}) statuses: {r['statuses']}" for k, r in results.items() if r["statuses"]))
    print("\n".join(f"{name}: {value:.2f}" for name, value in ratios.items()))


if __name__ == "__main__":
    main()
