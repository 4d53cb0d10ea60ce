#!/usr/bin/env bash
# scikit-learn's GaussianMixture beside ours on the shipped digits and iris, from the same
# initial parameters, for the "Gaussian mixtures" section of BENCHMARKS.md: final average
# log-likelihood of both and their relative difference, adjusted Rand index of the two
# clusterings and against the true labels, iterations, and the median wall time per EM
# iteration, for full/diag/spherical covariances and K = 3, 10.
#
# NOT part of CI: it installs scikit-learn (~50 MB) into a virtualenv outside the repository.
#
#     scripts/sklearn_mixture.sh                 # everything, 5 timed fits per run
#     REPEATS=1 scripts/sklearn_mixture.sh       # a quick check of the log-likelihoods
#
# Environment (defaults in brackets):
#     VENV     virtualenv to create/use, outside the repo          [<repo>/../sk-venv]
#     OUT      directory for the initial parameters and results    [<repo>/target/mixture_bench]
#     SEED     random_state of scikit-learn's k-means initialisation [0]
#     REPEATS  fits timed per run (the median is reported)          [5]
#     TOL, REG_COVAR, MAX_ITER   shared EM settings                  [1e-3, 1e-6, 100]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$repo/../sk-venv}"
OUT="${OUT:-$repo/target/mixture_bench}"
SEED="${SEED:-0}"
REPEATS="${REPEATS:-5}"
TOL="${TOL:-1e-3}"
REG_COVAR="${REG_COVAR:-1e-6}"
MAX_ITER="${MAX_ITER:-100}"

case "$(cd "$(dirname "$VENV")" 2>/dev/null && pwd)/$(basename "$VENV")" in
  "$repo"/*) echo "sklearn_mixture.sh: VENV must live outside the repository" >&2; exit 2 ;;
esac

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -r "$repo/scripts/sklearn_requirements.txt"
fi

cd "$repo"
echo "=== scikit-learn"
"$VENV/bin/python" scripts/sklearn_mixture.py --out "$OUT" --seed "$SEED" \
  --repeats "$REPEATS" --tol "$TOL" --reg-covar "$REG_COVAR" --max-iter "$MAX_ITER"
echo "=== ours, from the same initial parameters"
cargo build --release -p blockgibbs-models --example mixture_bench
"$repo/target/release/examples/mixture_bench" "$OUT" --repeats "$REPEATS"
