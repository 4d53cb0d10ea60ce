#!/usr/bin/env bash
# scikit-learn's FactorAnalysis beside our EM on the shipped digits (2 and 10 factors) and
# on iris (1 and 2 factors), for BENCHMARKS.md.
#
# NOT part of CI: it installs scikit-learn (~50 MB) into a virtualenv outside the repository.
#
#     scripts/sklearn_fa.sh
#     TOL=1e-10 scripts/sklearn_fa.sh
#
# Environment (defaults in brackets):
#     VENV      virtualenv to create/use, outside the repo                 [<repo>/../sk-venv]
#     OUT       directory for outputs (sklearn models, iris.npy)           [<repo>/target/sklearn_fa]
#     TOL       stop when the average log-likelihood per sample changes by less than this,
#               for both implementations (scikit-learn gets TOL × n)      [1e-9]
#     MAX_ITER  iteration cap of both                                      [100000]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$repo/../sk-venv}"
OUT="${OUT:-$repo/target/sklearn_fa}"
TOL="${TOL:-1e-9}"
MAX_ITER="${MAX_ITER:-100000}"

case "$(cd "$(dirname "$VENV")" 2>/dev/null && pwd)/$(basename "$VENV")" in
  "$repo"/*) echo "sklearn_fa.sh: VENV must live outside the repository" >&2; exit 2 ;;
esac

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -r "$repo/scripts/sklearn_requirements.txt"
fi

cd "$repo"
cargo build --release -p blockgibbs-models --example lgm_bench
mkdir -p "$OUT"
echo "=== scikit-learn FactorAnalysis (svd_method=lapack)"
"$VENV/bin/python" scripts/sklearn_fa.py --tol "$TOL" --max-iter "$MAX_ITER" --out "$OUT"
echo "=== ours (EM in mean coordinates, same start), and our log p(x) of scikit-learn's fits"
"$repo/target/release/examples/lgm_bench" --tol "$TOL" --max-iter "$MAX_ITER" \
  --iris "$OUT/iris.npy" --sklearn-dir "$OUT"
