#!/usr/bin/env python3
"""scikit-learn's FactorAnalysis on the shipped digits and on iris, for BENCHMARKS.md.

Fits FactorAnalysis(n_components=k) on models/data/digits/digits.csv (64 pixels, values
0..16, as float64) with k = 2 and 10, and on iris (scikit-learn's copy, 150 x 4) with
k = 1 and 2, from scikit-learn's default start (noise variances all one). Times `fit`
alone and prints one JSON line per fit: the final average log-likelihood `score(X)`, the
iterations `n_iter_` and the wall time per iteration. Each fitted model is saved as a
blockgibbs `factor_analysis` safetensors file (float64 tensors mean / components /
noise_variance; layout in models/src/io/lgm.rs) so that the Rust side evaluates scikit-learn's
parameters with its own log-density, the records go to sklearn_results.jsonl, and iris is
saved as iris.npy so that both sides fit the same bytes:

    python scripts/sklearn_fa.py --out target/sklearn_fa
    cargo run --release -p blockgibbs-models --example lgm_bench -- \
        --sklearn-dir target/sklearn_fa --iris target/sklearn_fa/iris.npy

scikit-learn does not run EM: every iteration takes the exact maximum-likelihood loadings
for the current noise variances (an SVD of the noise-scaled data, Barber's Algorithm 21.1;
`svd_method="lapack"` here so that it is exact) and then sets each noise variance to the
residual variance, floored at 1e-12. Its `tol` applies to the *total* log-likelihood; this
script passes `--tol` (per sample) times n so that both stop at the same per-sample
change. Needs numpy and scikit-learn only (scripts/sklearn_requirements.txt).
"""

import argparse
import json
import struct
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_iris
from sklearn.decomposition import FactorAnalysis
from sklearn.exceptions import ConvergenceWarning

REPO = Path(__file__).resolve().parent.parent
DIGITS_CSV = REPO / "models" / "data" / "digits" / "digits.csv"


def load_digits_pixels():
    raw = np.loadtxt(DIGITS_CSV, delimiter=",", dtype=np.int64)
    assert raw.shape == (1797, 65), raw.shape
    return raw[:, :64].astype(np.float64)


def write_safetensors(path, tensors, metadata):
    """A safetensors file (8-byte little-endian header length, JSON header, raw data) with
    float64 tensors in the given order, written without the safetensors package."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, array in tensors:
        data = np.ascontiguousarray(array, dtype="<f8").tobytes()
        header[name] = {
            "dtype": "F64",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # pad so the tensor data starts 8-byte aligned
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    tmp.replace(path)


def fit_one(name, x, k, tol, max_iter, out):
    n, d = x.shape
    fa = FactorAnalysis(
        n_components=k, tol=tol * n, max_iter=max_iter, svd_method="lapack"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        fa.fit(x)
        wall = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    path = out / f"sklearn_{name}_k{k}.safetensors"
    write_safetensors(
        path,
        [
            ("mean", fa.mean_),
            ("components", fa.components_),
            ("noise_variance", fa.noise_variance_),
        ],
        {
            "format": "blockgibbs",
            "format_version": "1",
            "kind": "factor_analysis",
            "n_features": str(d),
            "n_components": str(k),
        },
    )
    record = {
        "impl": "scikit-learn " + sklearn.__version__,
        "dataset": name,
        "k": k,
        "avg_log_likelihood": float(fa.score(x)),
        "iterations": int(fa.n_iter_),
        "converged": converged,
        "wall_s": wall,
        "ms_per_iter": 1000.0 * wall / fa.n_iter_,
        "model": str(path),
    }
    print(json.dumps(record), flush=True)
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tol", type=float, default=1e-9, help="per-sample tolerance")
    parser.add_argument("--max-iter", type=int, default=100000)
    parser.add_argument("--out", type=Path, default=REPO / "target" / "sklearn_fa")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    iris = np.ascontiguousarray(load_iris().data, dtype=np.float64)
    np.save(args.out / "iris.npy", iris)
    digits = load_digits_pixels()
    records = []
    for name, x, ks in [("digits", digits, [2, 10]), ("iris", iris, [1, 2])]:
        for k in ks:
            records.append(fit_one(name, x, k, args.tol, args.max_iter, args.out))
    # Read by the Rust example to print both results side by side.
    with open(args.out / "sklearn_results.jsonl", "w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
