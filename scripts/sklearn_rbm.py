#!/usr/bin/env python3
"""scikit-learn's BernoulliRBM on the repository's binarised digits, for BENCHMARKS.md.

Trains BernoulliRBM(n_components=16) on models/data/digits/digits.csv binarised exactly as
`blockgibbs_models::datasets::digits_binary` does (pixel >= 8 -> 1), times `fit` alone, and
saves the weights as a blockgibbs `binary_rbm` safetensors file (format documented in
models/src/io.rs) so that the Rust side computes the exact log-likelihood and the exact
pseudo-log-likelihood of the same machine:

    python scripts/sklearn_rbm.py --out target/sklearn_rbm
    cargo run --release -p blockgibbs-models --example digits_pcd -- \
        --eval-weights target/sklearn_rbm/rbm.safetensors

BernoulliRBM trains by persistent contrastive divergence too (it calls it stochastic maximum
likelihood): one Gibbs step per mini-batch, as many persistent chains as the batch size, SGD
on the mean gradient with `learning_rate` (the same parameterisation as our
`LrSchedule::Constant`), weights initialised N(0, 0.01^2), biases 0, batches taken in file
order every epoch (no reshuffling). Needs numpy and scikit-learn only
(scripts/sklearn_requirements.txt).
"""

import argparse
import json
import struct
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.neural_network import BernoulliRBM

REPO = Path(__file__).resolve().parent.parent
DIGITS_CSV = REPO / "models" / "data" / "digits" / "digits.csv"
THRESHOLD = 8


def load_binary_digits():
    raw = np.loadtxt(DIGITS_CSV, delimiter=",", dtype=np.int64)
    assert raw.shape == (1797, 65), raw.shape
    return (raw[:, :64] >= THRESHOLD).astype(np.float64)


def write_safetensors(path, tensors, metadata):
    """A safetensors file (8-byte little-endian header length, JSON header, raw data) with
    the tensors in the given order, written without the safetensors package."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, array in tensors:
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="n_iter")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.05, help="learning_rate")
    parser.add_argument("--seed", type=int, default=0, help="random_state")
    parser.add_argument("--out", type=Path, default=REPO / "target" / "sklearn_rbm")
    args = parser.parse_args()

    data = load_binary_digits()
    rbm = BernoulliRBM(
        n_components=16,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        n_iter=args.epochs,
        random_state=args.seed,
        verbose=0,
    )
    start = time.perf_counter()
    rbm.fit(data)
    seconds = time.perf_counter() - start

    # sklearn's own score: one random unit per example, scaled by 64 (stochastic PLL).
    pll_stochastic = float(np.mean(rbm.score_samples(data)))
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    print(
        f"BernoulliRBM(n_components=16, learning_rate={args.lr}, batch_size={args.batch_size}, "
        f"n_iter={args.epochs}, random_state={args.seed}) on {data.shape[0]} x {data.shape[1]}"
    )
    print(f"fit wall time          {seconds:.2f} s")
    print(f"score_samples mean     {pll_stochastic:.4f} (stochastic pseudo-log-likelihood)")

    args.out.mkdir(parents=True, exist_ok=True)
    # components_ is (n_hidden, n_visible); blockgibbs stores W as (n_visible, n_hidden).
    # The float64 parameters are rounded to float32, the format's dtype.
    write_safetensors(
        args.out / "rbm.safetensors",
        [
            ("weights", rbm.components_.T),
            ("visible_bias", rbm.intercept_visible_),
            ("hidden_bias", rbm.intercept_hidden_),
        ],
        {
            "format": "blockgibbs",
            "format_version": "1",
            "kind": "binary_rbm",
            "n_hidden": "16",
            "n_visible": "64",
        },
    )
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        np.save(args.out / f"{name.rstrip('_')}.npy", getattr(rbm, name))
    summary = {
        "sklearn": sklearn.__version__,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "seed": args.seed,
        "fit_seconds": seconds,
        "score_samples_mean": pll_stochastic,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out}/rbm.safetensors (+ .npy of the raw float64 parameters)")


if __name__ == "__main__":
    main()
