//! Trains a 64 × 16 binary RBM on the UCI handwritten digits (binarised at 8 of 16) by
//! persistent contrastive divergence and reports the exact average log-likelihood of the
//! training data after every epoch (the 16 hidden units are summed over exactly: 65,536
//! states).
//!
//! ```text
//! cargo run --release -p blockgibbs-models --example digits_pcd -- [OUT_DIR] [options]
//!   OUT_DIR              where to write the outputs (default target/digits_pcd)
//!   --epochs N           passes over the data (default 100)
//!   --batch-size N       examples per mini-batch (default 20)
//!   --lr X               SGD learning rate (default 0.05)
//!   --chains N           persistent chains (default 100)
//!   --seed N             seed of initialisation, shuffling and sampling (default 0)
//!   --eval-weights FILE  no training: evaluate a saved binary_rbm safetensors file (e.g. the
//!                        one written by scripts/sklearn_rbm.py) on the same data
//! ```
//!
//! Outputs, each written atomically (temporary file, then rename): `learning_curve.csv` and
//! `learning_curve.json` (epoch, exact average log-likelihood), `learning_curve.svg`,
//! `fantasies.png` (10 × 10 samples of the trained model) and `rbm.safetensors`.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blockgibbs_models::datasets::{DIGITS_PIXELS, DIGITS_SIDE, digits_binary};
use blockgibbs_models::io::{ModelIo, temp_file_beside, write_atomic};
use blockgibbs_models::optim::{LrSchedule, Method};
use blockgibbs_models::rbm::{
    BinaryRbm, EpochReport, GradientEstimator, Penalty, Sampling, TrainOptions,
    average_log_likelihood, fit, hinton_init, log_partition,
};
use plotters::prelude::*;

const N_HIDDEN: usize = 16;

/// Grid of fantasy samples drawn in `fantasies.png`.
const GRID: usize = 10;

/// Gibbs sweeps from uniform bits before a fantasy sample is drawn.
const FANTASY_SWEEPS: usize = 1000;

type AnyError = Box<dyn Error>;

struct Args {
    out_dir: PathBuf,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    chains: usize,
    seed: u64,
    eval_weights: Option<PathBuf>,
}

fn parse_args() -> Result<Args, AnyError> {
    let mut args = Args {
        out_dir: PathBuf::from("target/digits_pcd"),
        epochs: 100,
        batch_size: 20,
        lr: 0.05,
        chains: 100,
        seed: 0,
        eval_weights: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--epochs" => args.epochs = parse("--epochs", value("--epochs")?)?,
            "--batch-size" => args.batch_size = parse("--batch-size", value("--batch-size")?)?,
            "--lr" => args.lr = parse("--lr", value("--lr")?)?,
            "--chains" => args.chains = parse("--chains", value("--chains")?)?,
            "--seed" => args.seed = parse("--seed", value("--seed")?)?,
            "--eval-weights" => args.eval_weights = Some(value("--eval-weights")?.into()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}").into()),
            s => args.out_dir = PathBuf::from(s),
        }
    }
    Ok(args)
}

fn parse<T: std::str::FromStr>(name: &str, text: String) -> Result<T, AnyError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| format!("{name} `{text}`: {e}").into())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("digits_pcd: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), AnyError> {
    let args = parse_args()?;
    let data = digits_binary()?;
    match &args.eval_weights {
        Some(path) => evaluate(path, &data),
        None => train(&args, &data),
    }
}

/// Exact average log-likelihood, exact pseudo-log-likelihood and `log Z` of a saved machine.
fn evaluate(path: &Path, data: &[f32]) -> Result<(), AnyError> {
    let rbm = BinaryRbm::load(path)?;
    if rbm.n_visible() != DIGITS_PIXELS {
        return Err(format!(
            "{}: n_visible is {}, the digits have {DIGITS_PIXELS} pixels",
            path.display(),
            rbm.n_visible()
        )
        .into());
    }
    let start = Instant::now();
    let log_z = log_partition(&rbm)?;
    let ll = average_log_likelihood(&rbm, data)?;
    let pll = rbm.pseudo_log_likelihood(data)?;
    println!("machine                 {}", path.display());
    println!(
        "n_visible × n_hidden    {} × {}",
        rbm.n_visible(),
        rbm.n_hidden()
    );
    println!("log Z                   {log_z:.4}");
    println!("exact avg log-lik       {ll:.4} nats");
    println!("pseudo-log-lik (exact)  {pll:.4} nats");
    println!(
        "evaluation time         {:.2} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn train(args: &Args, data: &[f32]) -> Result<(), AnyError> {
    std::fs::create_dir_all(&args.out_dir)?;
    let rows = data.len() / DIGITS_PIXELS;
    let options = TrainOptions {
        sampling: Sampling::Pcd {
            k: 1,
            chains: args.chains,
        },
        penalty: Penalty::default(),
        method: Method::Sgd,
        lr: LrSchedule::Constant(args.lr),
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        ..TrainOptions::default()
    };
    println!(
        "digits: {rows} × {DIGITS_PIXELS} binary; RBM {DIGITS_PIXELS} × {N_HIDDEN}; PCD-1, {} chains, \
         SGD lr {}, batch {}, {} epochs, seed {}",
        args.chains, args.lr, args.batch_size, args.epochs, args.seed
    );
    let mut rbm = hinton_init(DIGITS_PIXELS, N_HIDDEN, data, args.seed)?;
    let initial = average_log_likelihood(&rbm, data)?;
    println!("epoch   0  exact avg log-lik {initial:9.4}");

    // The exact evaluation is timed apart so that the training time compares with
    // scikit-learn's `fit`, which evaluates nothing.
    let mut curve = vec![(0usize, initial)];
    let mut eval_seconds = 0.0;
    let mut eval_error = None;
    let start = Instant::now();
    let mut record = |report: &EpochReport, m: &BinaryRbm| {
        let t = Instant::now();
        match average_log_likelihood(m, data) {
            Ok(ll) => {
                eval_seconds += t.elapsed().as_secs_f64();
                println!(
                    "epoch {:3}  exact avg log-lik {ll:9.4}  (|grad| {:.3})",
                    report.epoch, report.mean_grad_norm
                );
                curve.push((report.epoch, ll));
            }
            Err(e) => eval_error = Some(e),
        }
    };
    fit(&mut rbm, data, &options, Some(&mut record))?;
    let total = start.elapsed().as_secs_f64();
    if let Some(e) = eval_error {
        return Err(e.into());
    }
    let final_ll = curve.last().map_or(initial, |&(_, ll)| ll);
    let pll = rbm.pseudo_log_likelihood(data)?;
    println!("final exact avg log-lik {final_ll:.4} nats (initial {initial:.4})");
    println!("final pseudo-log-lik    {pll:.4} nats");
    println!(
        "wall time: training {:.2} s, exact evaluations {eval_seconds:.2} s, total {total:.2} s",
        total - eval_seconds
    );

    let out = &args.out_dir;
    rbm.save(out.join("rbm.safetensors"))?;
    write_curve(out, &curve)?;
    draw_learning_curve(&out.join("learning_curve.svg"), &curve)?;
    let fantasies = fantasy_samples(&rbm, args.seed)?;
    draw_grid(&out.join("fantasies.png"), &fantasies)?;
    println!(
        "wrote {}/{{learning_curve.csv,learning_curve.json,learning_curve.svg,fantasies.png,rbm.safetensors}}",
        out.display()
    );
    Ok(())
}

fn write_curve(out: &Path, curve: &[(usize, f64)]) -> Result<(), AnyError> {
    let mut csv = String::from("epoch,avg_log_likelihood\n");
    for (epoch, ll) in curve {
        csv.push_str(&format!("{epoch},{ll}\n"));
    }
    write_atomic(&out.join("learning_curve.csv"), csv.as_bytes())?;
    let json = serde_json::json!({
        "epochs": curve.iter().map(|c| c.0).collect::<Vec<_>>(),
        "avg_log_likelihood": curve.iter().map(|c| c.1).collect::<Vec<_>>(),
    });
    write_atomic(
        &out.join("learning_curve.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    Ok(())
}

/// Line plot of the curve. SVG keeps the text as `<text>` elements, so no font rasteriser
/// (plotters' `ttf` feature and the system font libraries it needs) is required.
fn draw_learning_curve(path: &Path, curve: &[(usize, f64)]) -> Result<(), AnyError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 450)).into_drawing_area();
        root.fill(&WHITE)?;
        let last = curve.last().map_or(1, |c| c.0).max(1);
        let lo = curve.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
        let hi = curve.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.05).max(0.1);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "RBM 64×16 on binarised UCI digits, PCD-1",
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0..last, (lo - pad)..(hi + pad))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("exact average log-likelihood (nats)")
            .draw()?;
        chart.draw_series(LineSeries::new(curve.iter().copied(), &BLUE))?;
        chart.draw_series(
            curve
                .iter()
                .map(|&(e, ll)| Circle::new((e, ll), 2, BLUE.filled())),
        )?;
        root.present()?;
    }
    write_atomic(path, svg.as_bytes())?;
    Ok(())
}

/// `GRID²` samples of the trained machine: as many fresh persistent chains, each started
/// from uniform bits and run for [`FANTASY_SWEEPS`] block-Gibbs sweeps (the estimator's
/// batch is only needed for its positive phase, which is discarded).
fn fantasy_samples(rbm: &BinaryRbm, seed: u64) -> Result<Vec<f32>, AnyError> {
    let sampling = Sampling::Pcd {
        k: FANTASY_SWEEPS,
        chains: GRID * GRID,
    };
    let mut chains = GradientEstimator::new(sampling, Penalty::default(), seed ^ 0xfa17)?;
    let one_example = vec![0.0f32; rbm.n_visible()];
    chains.estimate(rbm, &one_example)?;
    Ok(chains.fantasy_particles().to_vec())
}

/// The samples as a `GRID × GRID` mosaic of 8×8 images (on = black), drawn with rectangles
/// only so that the bitmap backend needs no font.
fn draw_grid(path: &Path, samples: &[f32]) -> Result<(), AnyError> {
    const SCALE: usize = 6;
    const GAP: usize = 4;
    let cell = DIGITS_SIDE * SCALE + GAP;
    let side = (GRID * cell + GAP) as u32;
    // The PNG encoder picks the format from the extension, so the temporary name ends in .png;
    // it rewrites the file in place, keeping the usual permissions `temp_file_beside` gave it.
    let tmp = temp_file_beside(path, ".png")?;
    {
        let root = BitMapBackend::new(tmp.path(), (side, side)).into_drawing_area();
        root.fill(&RGBColor(200, 200, 200))?;
        for (k, image) in samples.chunks_exact(DIGITS_PIXELS).enumerate() {
            let (gx, gy) = (k % GRID, k / GRID);
            let (x0, y0) = ((GAP + gx * cell) as i32, (GAP + gy * cell) as i32);
            for (p, &on) in image.iter().enumerate() {
                let (x, y) = (
                    (p % DIGITS_SIDE * SCALE) as i32,
                    (p / DIGITS_SIDE * SCALE) as i32,
                );
                let colour = if on != 0.0 { BLACK } else { WHITE };
                root.draw(&Rectangle::new(
                    [
                        (x0 + x, y0 + y),
                        (x0 + x + SCALE as i32, y0 + y + SCALE as i32),
                    ],
                    colour.filled(),
                ))?;
            }
        }
        root.present()?;
    }
    tmp.persist(path)?;
    Ok(())
}
