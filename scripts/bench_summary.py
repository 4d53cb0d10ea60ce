#!/usr/bin/env python3
"""Summarise criterion results as JSON lines, or aggregate such lines into medians.

    scripts/bench_summary.py collect [CRITERION_DIR] [--tag TAG] [--newer FILE] >> runs.jsonl
        one line per benchmark found under CRITERION_DIR (default target/criterion), only
        those whose results are newer than FILE when given:
        {"bench", "tag", "median_ns" (criterion's median time per iteration),
         "elements" (throughput elements per iteration), "per_ns" (elements / median_ns),
         "loadavg1"}
    scripts/bench_summary.py table runs.jsonl
        the median over runs of every benchmark's per-iteration median, as a markdown table.

Standard library only; used by scripts/bench_repeat.sh.
"""
import json
import os
import statistics
import sys


def collect(root, tag, newer):
    load = os.getloadavg()[0]
    since = os.path.getmtime(newer) if newer else 0.0
    for dirpath, _, files in sorted(os.walk(root)):
        if os.path.basename(dirpath) != "new" or "estimates.json" not in files:
            continue
        if os.path.getmtime(os.path.join(dirpath, "estimates.json")) < since:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        median = est["median"]["point_estimate"]
        elements = (bench.get("throughput") or {}).get("Elements")
        print(json.dumps({
            "bench": bench["full_id"],
            "tag": tag,
            "median_ns": median,
            "elements": elements,
            "per_ns": elements / median if elements else None,
            "loadavg1": load,
        }))


def table(path):
    runs = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                runs.setdefault(r["bench"], []).append(r)
    print("| benchmark | runs | median time/iter | elements/ns (median) | min–max elements/ns | load1 |")
    print("|---|---|---|---|---|---|")
    for name, rs in runs.items():
        t = statistics.median(r["median_ns"] for r in rs)
        per = [r["per_ns"] for r in rs if r["per_ns"] is not None]
        loads = ", ".join(f"{r['loadavg1']:.1f}" for r in rs)
        if per:
            rate = f"{statistics.median(per):.4g} | {min(per):.4g}–{max(per):.4g}"
        else:
            rate = "– | –"
        print(f"| {name} | {len(rs)} | {t / 1e6:.2f} ms | {rate} | {loads} |")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "collect":
        args = sys.argv[2:]
        opts = {"--tag": "", "--newer": None}
        for opt in opts:
            if opt in args:
                i = args.index(opt)
                opts[opt] = args[i + 1]
                del args[i:i + 2]
        collect(args[0] if args else "target/criterion", opts["--tag"], opts["--newer"])
    elif len(sys.argv) == 3 and sys.argv[1] == "table":
        table(sys.argv[2])
    else:
        sys.exit(__doc__)
