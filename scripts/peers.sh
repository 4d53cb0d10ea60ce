#!/usr/bin/env bash
# Runs the THRML peer benchmarks (../shared/peers/thrml_*_bench.py) on this machine and
# records their JSON lines, for the THRML column of BENCHMARKS.md.
#
# NOT part of CI: it downloads JAX (~100 MB) into a virtualenv outside the repository and
# keeps both cores busy for several minutes. Run it by hand on an otherwise idle machine:
#
#     scripts/peers.sh                  # set up the venv if needed, run everything 3 times
#     REPEATS=1 scripts/peers.sh ising  # one workload only (ising | ising64 | potts | rbm | build1m)
#
# Environment (defaults in brackets):
#     PEERS    directory of the peer scripts and requirements.lock [<repo>/../shared/peers]
#     VENV     virtualenv to create/use, outside the repo            [<repo>/../thrml-venv]
#     OUT      directory for results                                 [<repo>/../peer-results]
#     REPEATS  invocations per workload (each script also repeats its timed run twice and
#              reports the best; BENCHMARKS.md quotes the median over invocations)   [3]
#
# Output: $OUT/thrml.jsonl (one line per invocation, written by the scripts' --json option),
# $OUT/rss.jsonl (peak resident memory of each invocation, from /usr/bin/time) and
# $OUT/logs/*.log (the scripts' stdout/stderr).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="${PEERS:-$repo/../shared/peers}"
VENV="${VENV:-$repo/../thrml-venv}"
OUT="${OUT:-$repo/../peer-results}"
REPEATS="${REPEATS:-3}"

case "$(cd "$(dirname "$VENV")" 2>/dev/null && pwd)/$(basename "$VENV")" in
  "$repo"/*) echo "peers.sh: VENV must live outside the repository" >&2; exit 2 ;;
esac

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -r "$PEERS/requirements.lock"
fi
py="$VENV/bin/python"
mkdir -p "$OUT/logs"

# name | script | arguments
workloads=(
  "ising|thrml_ising_bench.py|256 16 50 0.5 --random --meas 0"
  "ising64|thrml_ising_bench.py|256 64 50 0.5 --random --meas 0"
  "potts|thrml_potts_bench.py|256 16 50 1.0050525 --q 3 --meas 0"
  "rbm|thrml_rbm_bench.py|784 500 64 25"
  "build1m|thrml_ising_bench.py|1024 1 50 0.3 --meas 0"
)

selected=("$@")
for w in "${workloads[@]}"; do
  IFS='|' read -r name script args <<<"$w"
  if [[ ${#selected[@]} -gt 0 && ! " ${selected[*]} " =~ " $name " ]]; then
    continue
  fi
  for rep in $(seq 1 "$REPEATS"); do
    stamp="$(date -u +%Y%m%dT%H%M%SZ)"
    log="$OUT/logs/$name-$stamp.log"
    echo "== $name (run $rep/$REPEATS): $script $args   [load: $(cut -d' ' -f1-3 /proc/loadavg)]"
    # shellcheck disable=SC2086 # $args is a list of arguments
    /usr/bin/time -f '%M %e' -o "$OUT/time.tmp" \
      "$py" "$PEERS/$script" $args --json "$OUT/thrml.jsonl" >"$log" 2>&1
    read -r rss_kb wall <"$OUT/time.tmp"
    printf '{"workload":"%s","run":%d,"max_rss_kb":%s,"wall_s":%s,"loadavg1_after":%s}\n' \
      "$name" "$rep" "$rss_kb" "$wall" "$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/rss.jsonl"
    grep -E '^(build|compile|THROUGHPUT|RBM|PHYSICS|run)' "$log" || tail -n 3 "$log"
    echo "   peak RSS $((rss_kb / 1024)) MB, wall ${wall}s"
  done
done
rm -f "$OUT/time.tmp"
