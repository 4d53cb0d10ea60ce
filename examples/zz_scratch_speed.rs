use blockgibbs::compiler::{Backend, ReferenceBackend, compile};
use blockgibbs::prelude::*;
use std::sync::Arc;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let l: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256);
    let chains: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let threads: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let sweeps: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(20);
    let which = std::env::var("MODEL").unwrap_or_default();
    use blockgibbs::families as f;
    let (model, nodes) = match which.as_str() {
        "rbm" => (f::rbm(784, 500, 0.01, 0.0, 0.0, 1).unwrap(), 1284usize),
        "potts" => (f::potts2d(3, l, 1.0, true).unwrap(), l * l),
        "ising" => (f::ising2d(l, 1.0, 0.0, true).unwrap(), l * l),
        _ => (
            f::edwards_anderson(2, l, f::Disorder::Gaussian, 1, 0.0, true).unwrap(),
            l * l,
        ),
    };
    let model = Arc::new(model);
    let (_, p) = compile(&model).unwrap();
    let p = Arc::new(p);
    for name in ["reference", "jit"] {
        let t = std::time::Instant::now();
        let be: Arc<dyn Backend> = if name == "jit" {
            Arc::new(blockgibbs_jit::JitBackend::new(p.clone()).unwrap())
        } else {
            Arc::new(ReferenceBackend::new(p.clone()))
        };
        let ct = t.elapsed();
        let mut s = Sampler::new(
            model.clone(),
            be,
            SamplerOptions {
                chains,
                seed: 1,
                threads,
                beta: 0.5,
            },
        )
        .unwrap();
        s.sweep(1).unwrap();
        let t = std::time::Instant::now();
        let sw = if name == "jit" { sweeps * 4 } else { sweeps };
        s.sweep(sw).unwrap();
        let dt = t.elapsed().as_secs_f64();
        let upd = (sw as usize * nodes * chains) as f64;
        println!(
            "{name}: compile {:?} {:.4} updates/ns {:.0} chain-sweeps/s",
            ct,
            upd / dt / 1e9,
            (sw as usize * chains) as f64 / dt
        );
    }
}
