//! A two-dimensional mixture of three Gaussians, 1,500 samples drawn from it, a mixture fitted
//! to them by EM, and a picture: the samples (coloured by the component that drew them), the
//! fitted 1σ and 2σ ellipses (Mahalanobis radius 1 and 2) and fitted means, and the true 2σ
//! ellipses dashed.
//!
//! ```text
//! cargo run --release -p blockgibbs-models --example mixture_ellipses -- [OUT_DIR] [--seed N]
//! ```
//!
//! Writes `mixture_ellipses.svg` (with axes and a legend) and `mixture_ellipses.png` (the same
//! picture without text: the bitmap backend is built without a font rasteriser) into OUT_DIR
//! (default `target/mixture_ellipses`), each atomically.

use std::error::Error;
use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::io::{temp_file_beside, write_atomic};
use blockgibbs_models::linalg::{Cholesky, from_rows};
use blockgibbs_models::mixture::{GaussianMixture, GaussianMixtureOptions, adjusted_rand_index};
use plotters::coord::Shift;
use plotters::prelude::*;

type AnyError = Box<dyn Error>;

const SAMPLES: usize = 1500;
const SIZE: (u32, u32) = (800, 680);
const COLOURS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
];

/// The mixture the data are drawn from.
fn truth() -> Result<GaussianMixture, AnyError> {
    Ok(GaussianMixture::new(
        CovarianceType::Full,
        vec![0.5, 0.3, 0.2],
        vec![0.0, 0.0, 4.5, 3.0, -3.0, 4.0],
        vec![
            2.0, 1.2, 1.2, 1.5, // tilted up
            0.6, -0.4, -0.4, 1.0, // tilted down
            0.4, 0.0, 0.0, 1.8, // upright
        ],
    )?)
}

/// Points of the ellipse `{μ + r L u : ‖u‖ = 1}` with `Σ_k = L Lᵀ`: Mahalanobis radius `r`.
fn ellipse(gm: &GaussianMixture, k: usize, r: f64) -> Result<Vec<(f64, f64)>, AnyError> {
    let cov = from_rows(2, 2, &gm.component_covariance(k), "covariance")?;
    let l = Cholesky::new(cov.as_ref(), "covariance")?;
    let l = l.lower();
    let mu = gm.mean(k);
    Ok((0..=120)
        .map(|i| {
            let t = 2.0 * PI * i as f64 / 120.0;
            let (c, s) = (r * t.cos(), r * t.sin());
            (mu[0] + l[(0, 0)] * c, mu[1] + l[(1, 0)] * c + l[(1, 1)] * s)
        })
        .collect())
}

struct Picture<'a> {
    points: &'a [f64],
    labels: &'a [usize],
    truth: &'a GaussianMixture,
    fitted: &'a GaussianMixture,
    /// The fitted component that matches each true one.
    matching: Vec<usize>,
}

/// Draws the picture on any backend; `text` adds the caption, axes labels and legend.
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    pic: &Picture<'_>,
    text: bool,
) -> Result<(), AnyError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (x_range, y_range) = (-6.0..9.0, -5.0..9.0);
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    if text {
        builder
            .caption(
                "Gaussian mixture fitted by EM: 1σ and 2σ ellipses",
                ("sans-serif", 22),
            )
            .x_label_area_size(35)
            .y_label_area_size(45);
    }
    let mut chart = builder.build_cartesian_2d(x_range, y_range)?;
    if text {
        chart.configure_mesh().x_desc("x₁").y_desc("x₂").draw()?;
    } else {
        chart
            .plotting_area()
            .draw(&Rectangle::new([(-6.0, -5.0), (9.0, 9.0)], BLACK))?;
    }
    for (k, colour) in COLOURS.iter().enumerate() {
        let light = colour.mix(0.35);
        chart.draw_series(
            pic.points
                .chunks_exact(2)
                .zip(pic.labels)
                .filter(|(_, l)| **l == k)
                .map(|(p, _)| Circle::new((p[0], p[1]), 2, light.filled())),
        )?;
    }
    for (t, colour) in COLOURS.iter().enumerate() {
        let k = pic.matching[t];
        let true_2s =
            DashedLineSeries::new(ellipse(pic.truth, t, 2.0)?, 6, 5, BLACK.stroke_width(1));
        let series = chart.draw_series(true_2s)?;
        if text && t == 0 {
            series
                .label("true 2σ")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
        }
        let one = chart.draw_series(LineSeries::new(
            ellipse(pic.fitted, k, 1.0)?,
            colour.stroke_width(3),
        ))?;
        if text {
            one.label(format!("component {t}: fitted 1σ, 2σ"))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(3))
                });
        }
        chart.draw_series(LineSeries::new(
            ellipse(pic.fitted, k, 2.0)?,
            colour.stroke_width(2),
        ))?;
        let mu = pic.fitted.mean(k);
        chart.draw_series(std::iter::once(Cross::new(
            (mu[0], mu[1]),
            7,
            colour.stroke_width(3),
        )))?;
    }
    if text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn main() -> Result<(), AnyError> {
    let mut out_dir = PathBuf::from("target/mixture_ellipses");
    let mut seed = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => {
                let v = args.next().ok_or("--seed needs a value")?;
                seed = v.parse().map_err(|e| format!("--seed `{v}`: {e}"))?;
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}").into()),
            s => out_dir = PathBuf::from(s),
        }
    }
    std::fs::create_dir_all(&out_dir)?;

    let truth = truth()?;
    let (x, labels) = truth.sample(SAMPLES, seed)?;
    let options = GaussianMixtureOptions {
        covariance_type: CovarianceType::Full,
        seed,
        ..GaussianMixtureOptions::new(3)
    };
    let fit = GaussianMixture::fit(&x, &options)?;
    let gm = &fit.model;
    println!(
        "EM: {} iterations, converged {}, average log-likelihood {:.4} (true mixture {:.4})",
        fit.report.n_iter,
        fit.report.converged,
        gm.score(&x)?,
        truth.score(&x)?
    );
    // Match fitted components to true ones by the nearest mean.
    let matching: Vec<usize> = (0..3)
        .map(|t| {
            let m = truth.mean(t);
            (0..3)
                .min_by(|&a, &b| {
                    let d =
                        |k: usize| (gm.mean(k)[0] - m[0]).powi(2) + (gm.mean(k)[1] - m[1]).powi(2);
                    d(a).total_cmp(&d(b))
                })
                .unwrap_or(0)
        })
        .collect();
    for (t, &k) in matching.iter().enumerate() {
        println!(
            "component {t}: weight {:.3} (true {:.3}), mean ({:.3}, {:.3}) (true ({:.3}, {:.3})), covariance {:?}",
            gm.weights()[k],
            truth.weights()[t],
            gm.mean(k)[0],
            gm.mean(k)[1],
            truth.mean(t)[0],
            truth.mean(t)[1],
            gm.component_covariance(k)
                .iter()
                .map(|v| (v * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>(),
        );
    }
    println!(
        "adjusted Rand index of the clustering against the drawing components: {:.4}",
        adjusted_rand_index(&fit.labels, &labels).ok_or("label counts differ")?
    );
    let pic = Picture {
        points: x.as_slice(),
        labels: &labels,
        truth: &truth,
        fitted: gm,
        matching,
    };
    let svg_path = out_dir.join("mixture_ellipses.svg");
    let mut svg = String::new();
    draw(
        SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
        &pic,
        true,
    )?;
    write_atomic(&svg_path, svg.as_bytes())?;
    let png_path = out_dir.join("mixture_ellipses.png");
    write_png(&png_path, &pic)?;
    println!("wrote {} and {}", svg_path.display(), png_path.display());
    Ok(())
}

/// The PNG encoder picks the format from the extension, so the temporary name ends in .png.
fn write_png(path: &Path, pic: &Picture<'_>) -> Result<(), AnyError> {
    let tmp = temp_file_beside(path, ".png")?;
    draw(
        BitMapBackend::new(tmp.path(), SIZE).into_drawing_area(),
        pic,
        false,
    )?;
    tmp.persist(path)?;
    Ok(())
}
