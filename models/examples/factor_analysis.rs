//! Factor analysis recovering a planted low-dimensional structure: 12 observed features
//! driven by 3 factors (each factor loads mainly on its own block of four features, with a
//! few cross-loadings) plus feature-specific noise. Fits `FactorAnalysis` by EM on 2,000
//! samples and prints the principal angles between the planted and recovered loading
//! subspaces, the noise variances, and the log-likelihoods of the truth and of the fit on
//! the training data and on 2,000 fresh samples.
//!
//! ```text
//! cargo run --release -p blockgibbs-models --example factor_analysis -- [OUT_DIR]
//! ```
//!
//! Outputs in OUT_DIR (default `target/factor_analysis`), written atomically: `loadings.svg`
//! (planted, recovered and difference heatmaps with labels), `loadings.png` (the same three
//! panels, rectangles only) and the fitted model `factor_analysis.safetensors`. Loadings are
//! identified only up to a rotation of the factors, so the recovered ones are drawn after
//! the orthogonal (Procrustes) rotation that best matches the planted ones.

use std::error::Error;
use std::path::{Path, PathBuf};

use blockgibbs_models::io::{ModelIo, temp_file_beside, write_atomic};
use blockgibbs_models::lgm::{FactorAnalysis, FitOptions};
use blockgibbs_models::linalg::{Mat, symmetric_eigen};
use plotters::coord::Shift;
use plotters::prelude::*;

type AnyError = Box<dyn Error>;

const D: usize = 12;
const K: usize = 3;
const N: usize = 2000;

/// The planted model: block loadings with cross-loadings, unequal noise.
fn planted() -> Result<FactorAnalysis, AnyError> {
    let mut components = vec![0.0; K * D];
    for i in 0..D {
        let own = i / 4;
        components[own * D + i] = 1.0 + 0.25 * (i % 4) as f64;
        if i % 4 == 3 {
            components[((own + 1) % K) * D + i] = -0.6;
        }
    }
    let mean = (0..D).map(|i| 10.0 + i as f64).collect();
    let noise = (0..D).map(|i| 0.1 + 0.05 * (i % 5) as f64).collect();
    Ok(FactorAnalysis::new(mean, components, K, noise)?)
}

/// `(Mᵀ M)^{-1/2}` of a `d × k` matrix with independent columns.
fn gram_inv_sqrt(m: &Mat<f64>) -> Result<Mat<f64>, AnyError> {
    let k = m.ncols();
    let e = symmetric_eigen((m.transpose() * m).as_ref(), "Gram matrix")?;
    Ok(Mat::from_fn(k, k, |i, j| {
        (0..k)
            .map(|c| e.vectors[(i, c)] * e.vectors[(j, c)] / e.values[c].sqrt())
            .sum()
    }))
}

fn loadings(fa: &FactorAnalysis) -> Mat<f64> {
    Mat::from_fn(D, K, |i, j| fa.loadings()[i * K + j])
}

/// Principal angles (degrees, ascending) between the column spaces of `a` and `b`.
fn principal_angles(a: &Mat<f64>, b: &Mat<f64>) -> Result<Vec<f64>, AnyError> {
    let qa = a * gram_inv_sqrt(a)?;
    let qb = b * gram_inv_sqrt(b)?;
    let c = qa.transpose() * &qb;
    let e = symmetric_eigen((c.transpose() * &c).as_ref(), "cosines")?;
    let mut angles: Vec<f64> = e
        .values
        .iter()
        .map(|v| v.clamp(0.0, 1.0).sqrt().acos().to_degrees())
        .collect();
    angles.sort_by(f64::total_cmp);
    Ok(angles)
}

/// `fit · R` for the orthogonal `R` closest to mapping `fit` onto `truth`: with
/// `M = fitᵀ truth`, `R = M (Mᵀ M)^{-1/2}` (the polar factor of `M`).
fn procrustes(fit: &Mat<f64>, truth: &Mat<f64>) -> Result<Mat<f64>, AnyError> {
    let m = fit.transpose() * truth;
    let r = &m * gram_inv_sqrt(&m)?;
    Ok(fit * r)
}

fn main() -> Result<(), AnyError> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/factor_analysis".into()),
    );
    std::fs::create_dir_all(&out)?;
    let truth = planted()?;
    let train = truth.sample(N, 1)?;
    let test = truth.sample(N, 2)?;
    let options = FitOptions {
        tol: 1e-10,
        ..FitOptions::default()
    };
    let (fit, report) = FactorAnalysis::fit(&train, K, &options)?;
    println!(
        "EM: {} iterations, converged: {}",
        report.iterations, report.converged
    );
    println!("average log-likelihood    truth      fit");
    println!(
        "  training ({N})     {:9.4} {:9.4}",
        truth.score(&train)?,
        fit.score(&train)?
    );
    println!(
        "  held out ({N})     {:9.4} {:9.4}",
        truth.score(&test)?,
        fit.score(&test)?
    );
    let (a_true, a_fit) = (loadings(&truth), loadings(&fit));
    let angles = principal_angles(&a_true, &a_fit)?;
    println!("principal angles between loading subspaces (degrees): {angles:.3?}");
    println!("noise variance  planted  recovered");
    for i in 0..D {
        println!(
            "  feature {i:2}      {:.3}      {:.3}",
            truth.noise_variance()[i],
            fit.noise_variance()[i]
        );
    }
    let rotated = procrustes(&a_fit, &a_true)?;
    let worst = (0..D * K)
        .map(|p| (rotated[(p / K, p % K)] - a_true[(p / K, p % K)]).abs())
        .fold(0.0, f64::max);
    println!("largest |recovered − planted| loading after rotation: {worst:.3}");
    let panels = [
        ("planted", a_true.clone()),
        ("recovered (rotated)", rotated.clone()),
        ("difference × 5", (&rotated - &a_true) * faer::Scale(5.0)),
    ];
    draw_svg(&out.join("loadings.svg"), &panels)?;
    draw_png(&out.join("loadings.png"), &panels)?;
    fit.save(out.join("factor_analysis.safetensors"))?;
    println!(
        "wrote {}/loadings.{{svg,png}} and factor_analysis.safetensors",
        out.display()
    );
    Ok(())
}

const CELL: i32 = 28;
const GAP: i32 = 40;
const TOP: i32 = 40;
const LIMIT: f64 = 2.0;

/// Diverging colour map: blue (−LIMIT) – white (0) – red (+LIMIT).
fn colour(v: f64) -> RGBColor {
    let t = (v / LIMIT).clamp(-1.0, 1.0);
    let fade = |t: f64| (255.0 * (1.0 - t.abs())) as u8;
    if t >= 0.0 {
        RGBColor(255, fade(t), fade(t))
    } else {
        RGBColor(fade(t), fade(t), 255)
    }
}

fn size() -> (u32, u32) {
    let w = 3 * K as i32 * CELL + 4 * GAP;
    let h = TOP + D as i32 * CELL + GAP;
    (w as u32, h as u32)
}

/// The three heatmaps, one column per factor and one row per feature.
fn draw_panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[(&str, Mat<f64>)],
    labels: bool,
) -> Result<(), AnyError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    for (p, (title, m)) in panels.iter().enumerate() {
        let x0 = GAP + p as i32 * (K as i32 * CELL + GAP);
        for i in 0..D {
            for j in 0..K {
                let (x, y) = (x0 + j as i32 * CELL, TOP + i as i32 * CELL);
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL - 1, y + CELL - 1)],
                    colour(m[(i, j)]).filled(),
                ))?;
            }
        }
        root.draw(&Rectangle::new(
            [
                (x0 - 1, TOP - 1),
                (x0 + K as i32 * CELL, TOP + D as i32 * CELL),
            ],
            BLACK,
        ))?;
        if labels {
            root.draw(&Text::new(*title, (x0, TOP - 25), ("sans-serif", 14)))?;
        }
    }
    if labels {
        let note = format!("rows: 12 features, columns: 3 factors; blue −{LIMIT} … red +{LIMIT}");
        root.draw(&Text::new(
            note,
            (GAP, TOP + D as i32 * CELL + 12),
            ("sans-serif", 12),
        ))?;
    }
    root.present()?;
    Ok(())
}

fn draw_svg(path: &Path, panels: &[(&str, Mat<f64>)]) -> Result<(), AnyError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size()).into_drawing_area();
        draw_panels(&root, panels, true)?;
    }
    write_atomic(path, svg.as_bytes())?;
    Ok(())
}

/// Rectangles only: the bitmap backend has no font rasteriser here.
fn draw_png(path: &Path, panels: &[(&str, Mat<f64>)]) -> Result<(), AnyError> {
    let tmp = temp_file_beside(path, ".png")?;
    {
        let root = BitMapBackend::new(tmp.path(), size()).into_drawing_area();
        draw_panels(&root, panels, false)?;
    }
    tmp.persist(path)?;
    Ok(())
}
