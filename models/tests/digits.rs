//! The shipped UCI digits: the embedded copy against the file in `models/data/digits/` parsed
//! independently, counts stated in `models/data/digits/README.md`, typed parse errors, and a short
//! PCD run whose exact log-likelihood must beat the best factorised (independent-pixel)
//! model, computed in closed form.

use blockgibbs_models::datasets::{
    DIGITS_PIXELS, DIGITS_ROWS, DIGITS_THRESHOLD, DatasetError, digits, digits_binary,
    parse_digits_csv,
};
use blockgibbs_models::optim::{LrSchedule, Method};
use blockgibbs_models::rbm::train::HINTON_CLIP;
use blockgibbs_models::rbm::{
    Penalty, Sampling, TrainOptions, average_log_likelihood, fit, hinton_init,
};

fn raw_file() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits/digits.csv");
    std::fs::read_to_string(path).expect("models/data/digits/digits.csv is readable")
}

#[test]
fn embedded_digits_match_the_file_and_the_readme() {
    let d = digits().unwrap();
    assert_eq!(d.len(), DIGITS_ROWS);
    assert_eq!(d.pixels.len(), DIGITS_ROWS * DIGITS_PIXELS);

    // Independent parse of the file on disk: every value, in order.
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for line in raw_file().lines() {
        let values: Vec<u8> = line.split(',').map(|s| s.parse().unwrap()).collect();
        assert_eq!(values.len(), 65);
        pixels.extend_from_slice(&values[..64]);
        labels.push(values[64]);
    }
    assert_eq!(d.pixels, pixels);
    assert_eq!(d.labels, labels);

    // Counts stated in models/data/digits/README.md (optdigits.tes class distribution).
    let mut per_label = [0usize; 10];
    for &l in &d.labels {
        per_label[l as usize] += 1;
    }
    assert_eq!(
        per_label,
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    assert_eq!(d.pixels.iter().map(|&p| p as u64).sum::<u64>(), 561_718);
    assert_eq!(d.pixels.iter().copied().max(), Some(16));

    let binary = digits_binary().unwrap();
    assert_eq!(binary.len(), DIGITS_ROWS * DIGITS_PIXELS);
    assert!(binary.iter().all(|&x| x == 0.0 || x == 1.0));
    assert_eq!(binary.iter().filter(|&&x| x == 1.0).count(), 37_151);
    for (&b, &p) in binary.iter().zip(&d.pixels) {
        assert_eq!(b == 1.0, p >= DIGITS_THRESHOLD);
    }
    // First image (a 0): the README's first line thresholded at 8.
    let first: String = binary[..64]
        .iter()
        .map(|&x| if x == 1.0 { '1' } else { '0' })
        .collect();
    assert_eq!(
        first,
        "0001100000111100001001100010011000100110001001000010110000011000"
    );
}

#[test]
fn malformed_csv_gives_typed_errors() {
    let row = |pixel: &str, label: &str| {
        let mut fields = vec!["0"; 64];
        fields[5] = pixel;
        format!("{},{label}\n", fields.join(","))
    };
    assert_eq!(
        parse_digits_csv(b"1,2,3\n"),
        Err(DatasetError::FieldCount {
            line: 1,
            found: 3,
            expected: 65
        })
    );
    let text = format!("{}{}", row("3", "1"), row("x", "1"));
    assert_eq!(
        parse_digits_csv(text.as_bytes()),
        Err(DatasetError::NotAnInteger {
            line: 2,
            column: 6,
            text: "x".into()
        })
    );
    assert_eq!(
        parse_digits_csv(row("-1", "1").as_bytes()),
        Err(DatasetError::NotAnInteger {
            line: 1,
            column: 6,
            text: "-1".into()
        })
    );
    assert_eq!(
        parse_digits_csv(row("17", "1").as_bytes()),
        Err(DatasetError::OutOfRange {
            line: 1,
            column: 6,
            field: "pixel",
            value: 17,
            max: 16
        })
    );
    assert_eq!(
        parse_digits_csv(row("16", "10").as_bytes()),
        Err(DatasetError::OutOfRange {
            line: 1,
            column: 65,
            field: "label",
            value: 10,
            max: 9
        })
    );
    assert_eq!(parse_digits_csv(b"\n \n"), Err(DatasetError::Empty));
    assert_eq!(
        parse_digits_csv(b"1,\xff"),
        Err(DatasetError::NotUtf8 { offset: 2 })
    );
    // Blank lines and CRLF endings are accepted.
    let ok =
        parse_digits_csv(format!("\n{}", row("16", "9").replace('\n', "\r\n")).as_bytes()).unwrap();
    assert_eq!((ok.len(), ok.pixels[5], ok.labels[0]), (1, 16, 9));
}

/// Exact average log-likelihood of the independent-Bernoulli model whose probabilities are
/// the column means `p_i` clipped to `[clip, 1 − clip]`:
/// `Σ_i [m_i ln q_i + (1 − m_i) ln(1 − q_i)]` (`m_i` the mean, `q_i` the clipped mean).
/// With `clip = 0` this is the maximum-likelihood factorised model.
fn factorised_log_likelihood(data: &[f32], clip: f64) -> f64 {
    let rows = (data.len() / DIGITS_PIXELS) as f64;
    let term = |m: f64, q: f64| if m > 0.0 { m * q.ln() } else { 0.0 };
    (0..DIGITS_PIXELS)
        .map(|i| {
            let m = data.iter().skip(i).step_by(DIGITS_PIXELS).sum::<f32>() as f64 / rows;
            let q = m.clamp(clip, 1.0 - clip);
            term(m, q) + term(1.0 - m, 1.0 - q)
        })
        .sum()
}

#[test]
fn short_pcd_run_beats_the_factorised_model() {
    let data = digits_binary().unwrap();
    let factorised = factorised_log_likelihood(&data, 0.0);
    let mut rbm = hinton_init(DIGITS_PIXELS, 16, &data, 0).unwrap();
    let initial = average_log_likelihood(&rbm, &data).unwrap();
    // With W = 0, hinton_init is exactly the factorised model with clipped means (10 pixels
    // are never on). Its N(0, 0.01²) weights move the log-likelihood only at second order:
    // first-order terms cancel because model and data marginals agree, and each of the 16
    // hidden units adds about Var(Wᵀv)/8 ≈ (0.01² · 20)/8 ≈ 2.5e-4 nats (≈ 20 pixels on).
    let clipped = factorised_log_likelihood(&data, HINTON_CLIP);
    assert!(
        (initial - clipped).abs() < 0.01,
        "initial {initial} vs clipped factorised {clipped}"
    );
    let options = TrainOptions {
        sampling: Sampling::Pcd { k: 1, chains: 100 },
        penalty: Penalty::default(),
        method: Method::Sgd,
        lr: LrSchedule::Constant(0.05),
        epochs: 10,
        batch_size: 20,
        seed: 0,
        ..TrainOptions::default()
    };
    let mut curve = Vec::new();
    let mut record = |_: &_, m: &_| curve.push(average_log_likelihood(m, &data).unwrap());
    fit(&mut rbm, &data, &options, Some(&mut record)).unwrap();
    let last = *curve.last().unwrap();
    // 16 hidden units must capture pixel correlations the factorised model cannot: two
    // nats per image is far above the epoch-to-epoch PCD noise (≈ 0.3 nats late in training).
    assert!(
        last > factorised + 2.0,
        "after 10 epochs {last}, factorised {factorised}, curve {curve:?}"
    );
}
