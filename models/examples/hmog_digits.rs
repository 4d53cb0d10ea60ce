//! Clusters the UCI handwritten digits with an analytic hierarchical mixture of Gaussians
//! (factor analysis to a low-dimensional latent space, a Gaussian mixture inside it) fitted
//! by EM, and prints the adjusted Rand index of the clustering against the true labels.
//!
//! ```text
//! cargo run --release -p blockgibbs-models --example hmog_digits -- [options]
//!   --latent-dim N   latent factors y (default 10)
//!   --components N   mixture components z (default 10)
//!   --max-iter N     EM iterations at most (default 100)
//!   --seed N         seed of the initialisation (default 0)
//! ```

use std::error::Error;
use std::time::Instant;

use blockgibbs_models::datasets::{DIGITS_PIXELS, digits};
use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::hmog::{Hmog, HmogFitOptions, HmogVariant};
use blockgibbs_models::metrics::adjusted_rand_index;
use blockgibbs_models::samples::Samples;

struct Args {
    latent_dim: usize,
    components: usize,
    max_iter: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        latent_dim: 10,
        components: 10,
        max_iter: 100,
        seed: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--latent-dim" => args.latent_dim = value.parse()?,
            "--components" => args.components = value.parse()?,
            "--max-iter" => args.max_iter = value.parse()?,
            "--seed" => args.seed = value.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let digits = digits()?;
    let data = Samples::new(
        digits.pixels.iter().map(|&p| p as f64).collect(),
        DIGITS_PIXELS,
    )?;
    let labels: Vec<usize> = digits.labels.iter().map(|&l| l as usize).collect();
    println!(
        "digits: {} images × {} pixels; HMoG with {} latent factors and {} components",
        data.rows(),
        data.cols(),
        args.latent_dim,
        args.components
    );
    let start = Hmog::initialize(
        HmogVariant::Analytic,
        CovarianceType::Diagonal,
        args.latent_dim,
        args.components,
        &data,
        args.seed,
    )?;
    let options = HmogFitOptions {
        max_iter: args.max_iter,
        tol: 1e-4,
        ..Default::default()
    };
    let clock = Instant::now();
    let (model, report) = start.fit(&data, &options, &mut |it, ll| {
        if it == 1 || it % 10 == 0 {
            println!("  EM iteration {it:>3}: average log-likelihood {ll:.4}");
        }
    })?;
    let seconds = clock.elapsed().as_secs_f64();
    let predicted = data
        .iter_rows()
        .map(|x| model.posterior_hard_assignment(x))
        .collect::<Result<Vec<_>, _>>()?;
    let ari = adjusted_rand_index(&labels, &predicted).ok_or("no labels")?;
    println!(
        "final average log-likelihood {:.4} after {} iterations (converged: {}), {:.3} s per iteration",
        report.log_likelihood,
        report.iterations,
        report.converged,
        seconds / report.iterations as f64
    );
    println!("adjusted Rand index against the digit labels: {ari:.4}");
    Ok(())
}
