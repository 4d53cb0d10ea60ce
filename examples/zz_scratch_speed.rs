use blockgibbs::compiler::{Backend, ReferenceBackend, compile};
use blockgibbs::prelude::*;
use std::sync::Arc;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let l: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256);
    let chains: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let threads: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let sweeps: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(20);
    let model = Arc::new(
        blockgibbs::families::edwards_anderson(
            2,
            l,
            blockgibbs::families::Disorder::Gaussian,
            1,
            0.0,
            true,
        )
        .unwrap(),
    );
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
        s.sweep(2).unwrap();
        let t = std::time::Instant::now();
        s.sweep(sweeps).unwrap();
        let dt = t.elapsed().as_secs_f64();
        let upd = (sweeps as usize * l * l * chains) as f64;
        println!("{name}: compile {:?} {:.4} updates/ns", ct, upd / dt / 1e9);
    }
}
