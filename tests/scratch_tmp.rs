mod common;
use blockgibbs::families;
use blockgibbs::lattice;
use blockgibbs::prelude::*;
use std::sync::Arc;
fn ising4_exact(beta: f64) -> (f64, f64) {
    let edges = lattice::square(4, true);
    let (mut z, mut e_sum, mut m_sum) = (0.0, 0.0, 0.0);
    for bits in 0..(1u32 << 16) {
        let s = |i: u32| if (bits >> i) & 1 == 1 { 1.0 } else { -1.0 };
        let e: f64 = -edges.iter().map(|&(a, b)| s(a) * s(b)).sum::<f64>();
        let m: f64 = (0..16).map(s).sum::<f64>() / 16.0;
        let w = (-beta * e).exp();
        z += w;
        e_sum += w * e;
        m_sum += w * m.abs();
    }
    (e_sum / z / 16.0, m_sum / z)
}
#[test]
fn scan() {
    for beta in [0.4f32, 0.44] {
        let (e_exact, m_exact) = ising4_exact(beta as f64);
        let model = Arc::new(families::ising2d(4, 1.0, 0.0, true).unwrap());
        for seed in 0..8 {
            let mut sampler = Sampler::reference(
                model.clone(),
                SamplerOptions {
                    chains: 64,
                    seed,
                    threads: 0,
                    beta,
                },
            )
            .unwrap();
            let mut obs = ScalarObservables::standard(&model);
            let mut mom = Moments::new(model.groups()[0].ids(), vec![]);
            sampler
                .run(
                    &SamplingSchedule::new(500, 20_000, 1),
                    &mut [&mut obs, &mut mom],
                )
                .unwrap();
            let mut line = format!("β={beta} seed {seed}:");
            for (name, exact) in [("energy_per_node", e_exact), ("abs_magnetization", m_exact)] {
                let est = obs.estimate(name).unwrap();
                let se = est.stderr.unwrap();
                line += &format!(
                    " {name} {:+.2}σ (se {se:.5}, ess {:.0})",
                    (est.mean - exact) / se,
                    est.ess.unwrap()
                );
            }
            let m = obs.estimate("magnetization").unwrap();
            line += &format!(" m {:+.2}σ", m.mean / m.stderr.unwrap());
            println!("{line}");
        }
    }
}
