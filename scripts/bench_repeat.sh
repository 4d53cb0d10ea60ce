#!/usr/bin/env bash
# Runs criterion benches several times and prints the median over runs of each benchmark's
# median, the figures BENCHMARKS.md quotes. Not part of CI (minutes of CPU).
#
#     scripts/bench_repeat.sh                       # reference + handwritten, 3 runs each
#     RUNS=5 scripts/bench_repeat.sh reference      # one bench target, 5 runs
#     BENCH_CLOCK=both scripts/bench_repeat.sh      # wall time and process CPU time
#
# Each run's summary is appended to $OUT/runs-<time>.jsonl (default <repo>/../bench-results, outside
# the repository), with each run's criterion log; criterion's reports stay in target/criterion.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
OUT="${OUT:-$repo/../bench-results}"
benches=("$@")
[[ ${#benches[@]} -gt 0 ]] || benches=(reference handwritten)
mkdir -p "$OUT"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
runs="$OUT/runs-$stamp.jsonl"

cd "$repo"
# Build once and run the same executables every time, so that all runs measure the same code
# even if the sources change meanwhile.
declare -A exe
for bench in "${benches[@]}"; do
  exe[$bench]="$(cargo bench --no-run --bench "$bench" --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        print(m["executable"])' | tail -n 1)"
  [[ -x "${exe[$bench]}" ]] || { echo "no executable for bench $bench" >&2; exit 1; }
done
echo "commit $(git rev-parse --short HEAD) (+ working tree), clock ${BENCH_CLOCK:-wall}" >&2
for run in $(seq 1 "$RUNS"); do
  for bench in "${benches[@]}"; do
    echo "== $bench run $run/$RUNS   [load: $(cut -d' ' -f1-3 /proc/loadavg)]" >&2
    touch "$OUT/.start"
    "${exe[$bench]}" --bench --noplot >"$OUT/$bench-$stamp-$run.log" 2>&1
    python3 scripts/bench_summary.py collect target/criterion --tag "$bench-$run" \
      --newer "$OUT/.start" >>"$runs"
  done
done
python3 scripts/bench_summary.py table "$runs"
echo "(runs: $runs)" >&2
