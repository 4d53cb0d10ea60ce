//! Agreement between two clusterings.

use std::collections::HashMap;

use super::MixtureError;

/// The adjusted Rand index of two labelings of the same samples (scikit-learn's
/// `adjusted_rand_score`): 1 for identical partitions (whatever the label names), about 0
/// for independent ones. Errors if the lengths differ or are zero.
///
/// ```
/// use blockgibbs_models::mixture::adjusted_rand_index;
/// assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[5, 5, 2, 2]).unwrap(), 1.0);
/// assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]).unwrap() + 0.5).abs() < 1e-12);
/// ```
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Result<f64, MixtureError> {
    if a.len() != b.len() || a.is_empty() {
        return Err(MixtureError::InvalidArgument {
            field: "labels",
            value: format!("{} and {} labels", a.len(), b.len()),
            reason: "two non-empty labelings of the same samples",
        });
    }
    let pairs = |c: f64| c * (c - 1.0) / 2.0;
    let mut joint: HashMap<(usize, usize), f64> = HashMap::new();
    let mut rows: HashMap<usize, f64> = HashMap::new();
    let mut cols: HashMap<usize, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_default() += 1.0;
        *rows.entry(x).or_default() += 1.0;
        *cols.entry(y).or_default() += 1.0;
    }
    let index: f64 = joint.values().map(|&c| pairs(c)).sum();
    let sum_rows: f64 = rows.values().map(|&c| pairs(c)).sum();
    let sum_cols: f64 = cols.values().map(|&c| pairs(c)).sum();
    let expected = sum_rows * sum_cols / pairs(a.len() as f64).max(1.0);
    let max = 0.5 * (sum_rows + sum_cols);
    // Both partitions trivial in the same way (one cluster each, or all singletons): the
    // index is 0/0 and scikit-learn calls it perfect agreement.
    if max == expected {
        return Ok(1.0);
    }
    Ok((index - expected) / (max - expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair-counting definition: over all pairs of samples, agreements beyond chance.
    fn by_pairs(a: &[usize], b: &[usize]) -> f64 {
        let n = a.len();
        let (mut both, mut only_a, mut only_b, mut neither) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..n {
            for j in i + 1..n {
                match (a[i] == a[j], b[i] == b[j]) {
                    (true, true) => both += 1.0,
                    (true, false) => only_a += 1.0,
                    (false, true) => only_b += 1.0,
                    (false, false) => neither += 1.0,
                }
            }
        }
        // Hubert & Arabie in pair-confusion form (as scikit-learn writes it).
        2.0 * (both * neither - only_a * only_b)
            / ((both + only_a) * (only_a + neither) + (both + only_b) * (only_b + neither))
    }

    #[test]
    fn equals_the_pair_counting_formula() {
        let a = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 1];
        let b = [1, 1, 0, 0, 2, 2, 2, 2, 1, 0, 1, 2];
        let got = adjusted_rand_index(&a, &b).unwrap();
        assert!((got - by_pairs(&a, &b)).abs() < 1e-12, "{got}");
        assert_eq!(adjusted_rand_index(&[3, 3, 3], &[1, 1, 1]).unwrap(), 1.0);
        assert!(adjusted_rand_index(&[0, 1], &[0]).is_err());
        assert!(adjusted_rand_index(&[], &[]).is_err());
    }
}
