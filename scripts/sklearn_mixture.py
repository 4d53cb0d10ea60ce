#!/usr/bin/env python3
"""scikit-learn's GaussianMixture beside ours, from the same initial parameters.

For the shipped digits (1797 x 64, pixel values 0..16 as float64) and iris (150 x 4), every
covariance type scikit-learn shares with us (full, diag, spherical) and K = 3 and 10, this
script

1. computes initial parameters with scikit-learn's own initialisation (`init_params="kmeans"`,
   `random_state=SEED`, `max_iter=0`): weights_, means_, precisions_;
2. writes them as .npy files, with the data and the true labels, for the Rust side
   (`models/examples/mixture_bench.rs`);
3. fits GaussianMixture(weights_init, means_init, precisions_init, tol, reg_covar, max_iter)
   REPEATS times, records the final average log-likelihood (`score(X)`), `lower_bound_`,
   `n_iter_`, `converged_`, the labels (`predict(X)`), the adjusted Rand index against the
   true labels, and the median wall time of `fit` divided by `n_iter_`;
4. writes everything to OUT/sklearn.json.

    python scripts/sklearn_mixture.py --out target/mixture_bench
    cargo run --release -p blockgibbs-models --example mixture_bench -- target/mixture_bench

Needs numpy and scikit-learn only (scripts/sklearn_requirements.txt); run through
scripts/sklearn_mixture.sh, which sets up the virtualenv outside the repository.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

REPO = Path(__file__).resolve().parent.parent
DIGITS_CSV = REPO / "models" / "data" / "digits" / "digits.csv"
IRIS_CSV = REPO / "models" / "data" / "iris" / "iris.csv"
COVARIANCE_TYPES = ("full", "diag", "spherical")


def load(name):
    if name == "digits":
        raw = np.loadtxt(DIGITS_CSV, delimiter=",", dtype=np.int64)
        assert raw.shape == (1797, 65), raw.shape
        return raw[:, :64].astype(np.float64), raw[:, 64]
    raw = np.loadtxt(IRIS_CSV, delimiter=",", skiprows=1)
    assert raw.shape == (150, 5), raw.shape
    return raw[:, :4].copy(), raw[:, 4].astype(np.int64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "target" / "mixture_bench")
    parser.add_argument("--seed", type=int, default=0, help="random_state of the init")
    parser.add_argument("--repeats", type=int, default=5, help="fits timed per run")
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--reg-covar", type=float, default=1e-6)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--datasets", default="digits,iris")
    parser.add_argument("--components", default="3,10")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    runs = []
    for dataset in args.datasets.split(","):
        x, truth = load(dataset)
        np.save(args.out / f"{dataset}_x.npy", x)
        np.save(args.out / f"{dataset}_labels.npy", truth)
        for k in (int(c) for c in args.components.split(",")):
            for cov in COVARIANCE_TYPES:
                name = f"{dataset}_{cov}_k{k}"
                run_dir = args.out / name
                run_dir.mkdir(exist_ok=True)
                start = GaussianMixture(
                    n_components=k,
                    covariance_type=cov,
                    reg_covar=args.reg_covar,
                    max_iter=0,
                    init_params="kmeans",
                    random_state=args.seed,
                ).fit(x)
                init = {
                    "weights": start.weights_,
                    "means": start.means_,
                    "precisions": start.precisions_,
                }
                for key, value in init.items():
                    np.save(run_dir / f"{key}.npy", np.ascontiguousarray(value))
                times, gm = [], None
                for _ in range(args.repeats):
                    gm = GaussianMixture(
                        n_components=k,
                        covariance_type=cov,
                        tol=args.tol,
                        reg_covar=args.reg_covar,
                        max_iter=args.max_iter,
                        weights_init=init["weights"],
                        means_init=init["means"],
                        precisions_init=init["precisions"],
                        random_state=args.seed,
                    )
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        t0 = time.perf_counter()
                        gm.fit(x)
                        times.append(time.perf_counter() - t0)
                labels = gm.predict(x)
                np.save(run_dir / "sklearn_labels.npy", labels.astype(np.int64))
                run = {
                    "name": name,
                    "dataset": dataset,
                    "covariance_type": cov,
                    "n_components": k,
                    "tol": args.tol,
                    "reg_covar": args.reg_covar,
                    "max_iter": args.max_iter,
                    "score": float(gm.score(x)),
                    "lower_bound": float(gm.lower_bound_),
                    "n_iter": int(gm.n_iter_),
                    "converged": bool(gm.converged_),
                    "ari_truth": float(adjusted_rand_score(truth, labels)),
                    "seconds_per_iter": float(np.median(times)) / max(gm.n_iter_, 1),
                    "fit_seconds": [float(t) for t in times],
                }
                runs.append(run)
                print(
                    f"{name:22s} score {run['score']:.10g}  iters {run['n_iter']:3d}  "
                    f"converged {run['converged']!s:5s}  ARI(truth) {run['ari_truth']:.4f}  "
                    f"{run['seconds_per_iter'] * 1e3:.3f} ms/iter"
                )
    summary = {
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "seed": args.seed,
        "repeats": args.repeats,
        "runs": runs,
    }
    (args.out / "sklearn.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out}/sklearn.json and the initial parameters of {len(runs)} runs")


if __name__ == "__main__":
    main()
