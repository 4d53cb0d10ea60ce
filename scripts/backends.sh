#!/usr/bin/env bash
# Runs every issue-3 workload with `blockgibbs bench --compare` (reference and jit in one
# process, same model, same seed) RUNS times and prints the median updates/ns (chain-sweeps/s
# for the RBM) of each backend and their ratio. Not run by CI (it takes minutes).
#   RUNS=3 scripts/backends.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
cargo build --release --quiet
B=target/release/blockgibbs
run() { # name threads args...
  local name=$1 threads=$2; shift 2
  for _ in $(seq "$RUNS"); do
    "$B" bench "$@" --compare --threads "$threads" | sed "s/^/$name\t$threads\t/"
  done
}
{
  run ea2d-L256-64c 1 examples/ea2d.toml --set model.L=256 --set schedule.chains=64 --set schedule.warmup=40 --set schedule.samples=1
  run ea2d-L256-64c 2 examples/ea2d.toml --set model.L=256 --set schedule.chains=64 --set schedule.warmup=40 --set schedule.samples=1
  run ising2d-L256-64c 1 examples/ising2d.toml --set model.L=256 --set schedule.chains=64 --set schedule.warmup=40 --set schedule.samples=1
  run potts2d-q3-L256-64c 1 examples/potts2d.toml --set model.L=256 --set schedule.chains=64 --set schedule.warmup=20 --set schedule.samples=1
  run rbm-784x500-64c 2 examples/rbm.toml --set model.n_visible=784 --set model.n_hidden=500 --set schedule.chains=64 --set schedule.warmup=20 --set schedule.samples=1
  run ising2d-L1024-1c 1 examples/ising2d.toml --set model.L=1024 --set schedule.chains=1 --set schedule.warmup=30 --set schedule.samples=1
  run ising2d-L1024-1c 2 examples/ising2d.toml --set model.L=1024 --set schedule.chains=1 --set schedule.warmup=30 --set schedule.samples=1
} | python3 -c '
import json, sys, statistics as st
rows = {}
for line in sys.stdin:
    name, threads, js = line.rstrip("\n").split("\t", 2)
    d = json.loads(js)
    if "backend" not in d:
        continue
    rate = d["updates_per_ns"] if "rbm" not in name else d["sweeps"] * d["chains"] / d["seconds"]
    rows.setdefault((name, threads), {}).setdefault(d["backend"], []).append(rate)
print("| workload | threads | reference | jit | jit/reference |")
print("|---|---|---|---|---|")
for (name, threads), r in rows.items():
    ref, jit = st.median(r["reference"]), st.median(r["jit"])
    unit = "chain-sweeps/s" if "rbm" in name else "updates/ns"
    fmt = (lambda x: f"{x:,.0f}") if "rbm" in name else (lambda x: f"{x:.4f}")
    print(f"| {name} ({unit}) | {threads} | {fmt(ref)} | {fmt(jit)} | {jit/ref:.1f}x |")
'
