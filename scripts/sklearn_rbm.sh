#!/usr/bin/env bash
# scikit-learn's BernoulliRBM beside our PCD trainer on the shipped digits, for the "Digits"
# section of BENCHMARKS.md.
#
# NOT part of CI: it installs scikit-learn (~50 MB) into a virtualenv outside the repository.
#
#     scripts/sklearn_rbm.sh              # both trainers, seed 0, settings of BENCHMARKS.md
#     SEEDS="0 1 2" scripts/sklearn_rbm.sh
#
# Environment (defaults in brackets):
#     VENV    virtualenv to create/use, outside the repo          [<repo>/../sk-venv]
#     OUT     directory for outputs                               [<repo>/target/digits_bench]
#     SEEDS   seeds to run                                        [0]
#     EPOCHS, BATCH, LR   shared settings                          [100, 20, 0.05]
#     CHAINS  persistent chains of our trainer (sklearn uses BATCH) [100]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$repo/../sk-venv}"
OUT="${OUT:-$repo/target/digits_bench}"
SEEDS="${SEEDS:-0}"
EPOCHS="${EPOCHS:-100}"
BATCH="${BATCH:-20}"
LR="${LR:-0.05}"
CHAINS="${CHAINS:-100}"

case "$(cd "$(dirname "$VENV")" 2>/dev/null && pwd)/$(basename "$VENV")" in
  "$repo"/*) echo "sklearn_rbm.sh: VENV must live outside the repository" >&2; exit 2 ;;
esac

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -r "$repo/scripts/sklearn_requirements.txt"
fi

cd "$repo"
cargo build --release -p blockgibbs-models --example digits_pcd
example="$repo/target/release/examples/digits_pcd"
mkdir -p "$OUT"
for seed in $SEEDS; do
  echo "=== seed $seed: ours (PCD-1, $CHAINS chains)"
  "$example" "$OUT/ours_seed$seed" --epochs "$EPOCHS" --batch-size "$BATCH" --lr "$LR" \
    --chains "$CHAINS" --seed "$seed" | grep -E "^(digits|final|wall)"
  echo "=== seed $seed: scikit-learn BernoulliRBM"
  "$VENV/bin/python" scripts/sklearn_rbm.py --epochs "$EPOCHS" --batch-size "$BATCH" \
    --lr "$LR" --seed "$seed" --out "$OUT/sklearn_seed$seed" | grep -E "wall|score"
  "$example" --eval-weights "$OUT/sklearn_seed$seed/rbm.safetensors" | grep -E "log-lik"
done
