//! Agreement between clusterings.

/// The adjusted Rand index (Hubert & Arabie) of two labelings of the same items: 1 for
/// identical partitions (up to renaming), about 0 for independent ones. `None` when the
/// lengths differ or there are fewer than two items.
///
/// ```
/// use blockgibbs_models::metrics::adjusted_rand_index;
/// assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[5, 5, 2, 2]), Some(1.0));
/// ```
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Option<f64> {
    let n = a.len();
    if n != b.len() || n < 2 {
        return None;
    }
    let (ka, kb) = (
        a.iter().max().map_or(0, |m| m + 1),
        b.iter().max().map_or(0, |m| m + 1),
    );
    let mut table = vec![0u64; ka * kb];
    for (&x, &y) in a.iter().zip(b) {
        table[x * kb + y] += 1;
    }
    let pairs = |c: u64| (c * c.saturating_sub(1) / 2) as f64;
    let index: f64 = table.iter().map(|&c| pairs(c)).sum();
    let rows: f64 = (0..ka)
        .map(|i| pairs(table[i * kb..(i + 1) * kb].iter().sum()))
        .sum();
    let cols: f64 = (0..kb)
        .map(|j| pairs((0..ka).map(|i| table[i * kb + j]).sum()))
        .sum();
    let total = pairs(n as u64);
    let expected = rows * cols / total;
    let max = 0.5 * (rows + cols);
    if max == expected {
        // Both partitions trivial (one cluster, or all singletons): identical by definition.
        return Some(1.0);
    }
    Some((index - expected) / (max - expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair-counting definition: over all pairs of items, agreements beyond chance
    /// (Hubert & Arabie in pair-confusion form, as scikit-learn writes it).
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
        2.0 * (both * neither - only_a * only_b)
            / ((both + only_a) * (only_a + neither) + (both + only_b) * (only_b + neither))
    }

    #[test]
    fn equals_the_pair_counting_formula() {
        let a = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 1];
        let b = [1, 1, 0, 0, 2, 2, 2, 2, 1, 0, 1, 2];
        let got = adjusted_rand_index(&a, &b).unwrap();
        assert!((got - by_pairs(&a, &b)).abs() < 1e-12, "{got}");
        assert_eq!(adjusted_rand_index(&[3, 3, 3], &[1, 1, 1]), Some(1.0));
    }

    #[test]
    fn known_values() {
        // Hand-computed: contingency [[2,0],[1,1]] → index 1, rows 1+1, cols 3+0 → ARI 0.
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 0, 1]).unwrap() - 0.0).abs() < 1e-12);
        assert_eq!(adjusted_rand_index(&[0, 1, 2], &[2, 1, 0]), Some(1.0));
        assert_eq!(adjusted_rand_index(&[0], &[0]), None);
        assert_eq!(adjusted_rand_index(&[0, 1], &[0]), None);
        // scikit-learn's documented example: adjusted_rand_score([0,0,1,2],[0,0,1,1]) = 0.57…
        let v = adjusted_rand_index(&[0, 0, 1, 2], &[0, 0, 1, 1]).unwrap();
        assert!((v - 0.571_428_571_428_571_4).abs() < 1e-12, "{v}");
    }
}
