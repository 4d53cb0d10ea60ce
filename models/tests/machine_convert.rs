//! RBMs of the `rbm` module as layered machines and back: parameters copied bit for bit,
//! energies and exact log-likelihoods equal, and machines of other shapes refused by name.

use blockgibbs_models::BinaryRbm;
use blockgibbs_models::machine::{
    BoltzmannMachine, Layer, MachineError, UnitKind, average_log_likelihood,
};
use blockgibbs_models::rbm::exact;
use blockgibbs_models::rbm::gaussian::GaussianRbm;

fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn binary_rbm_round_trips_with_equal_energy_and_likelihood() {
    let rbm = BinaryRbm::random(5, 3, 0.7, 0.4, 2).unwrap();
    let m = BoltzmannMachine::try_from(&rbm).unwrap();
    for (i, j) in [(0usize, 0usize), (7, 5), (31, 2), (13, 6)] {
        let v: Vec<f32> = (0..5).map(|b| ((i >> b) & 1) as f32).collect();
        let h: Vec<f32> = (0..3).map(|b| ((j >> b) & 1) as f32).collect();
        let a = rbm.energy(&v, &h).unwrap();
        let b = m.energy(&[v, h]).unwrap();
        assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{a} vs {b}");
    }
    let data: Vec<f32> = (0..6 * 5)
        .map(|i| ((i * 5 + 1) % 3 == 0) as u8 as f32)
        .collect();
    let (a, b) = (
        exact::average_log_likelihood(&rbm, &data).unwrap(),
        average_log_likelihood(&m, &data).unwrap(),
    );
    assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    let back = BinaryRbm::try_from(&m).unwrap();
    assert_eq!(back, rbm);
    assert_eq!(bits(back.weights()), bits(rbm.weights()));
}

#[test]
fn gaussian_rbm_round_trips_with_equal_energy_and_likelihood() {
    let rbm = GaussianRbm::random(3, 4, 0.5, 0.3, 8).unwrap();
    let m = BoltzmannMachine::try_from(&rbm).unwrap();
    let v = vec![0.3f32, -1.2, 0.8];
    for j in [0usize, 5, 9, 15] {
        let h: Vec<f32> = (0..4).map(|b| ((j >> b) & 1) as f32).collect();
        let a = rbm.energy(&v, &h).unwrap();
        let b = m.energy(&[v.clone(), h]).unwrap();
        // The lowered energies may differ by a constant; the machine's own energy must not.
        assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{a} vs {b}");
    }
    let data = vec![0.1f32, -0.4, 1.0, 0.7, 0.2, -0.9];
    let a = rbm.exact_average_log_likelihood(&data).unwrap();
    let b = average_log_likelihood(&m, &data).unwrap();
    assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    assert_eq!(GaussianRbm::try_from(&m).unwrap(), rbm);
}

#[test]
fn other_shapes_are_refused_by_name() {
    let spin = Layer::zeros(UnitKind::Spin, 2).unwrap();
    let bin = Layer::zeros(UnitKind::Binary, 2).unwrap();
    let m = BoltzmannMachine::new(vec![spin, bin.clone()], vec![vec![0.1; 4]]).unwrap();
    for e in [
        BinaryRbm::try_from(&m).unwrap_err(),
        GaussianRbm::try_from(&m).unwrap_err(),
    ] {
        assert!(
            matches!(&e, MachineError::InvalidOption { field: "layers", reason } if reason.contains("Spin")),
            "{e}"
        );
    }
    let deep = BoltzmannMachine::new(
        vec![bin.clone(), bin.clone(), bin],
        vec![vec![0.0; 4], vec![0.0; 4]],
    )
    .unwrap();
    assert!(BinaryRbm::try_from(&deep).is_err());
}
