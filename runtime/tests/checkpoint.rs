//! Checkpoint and resume: a run cut at any sweep, written to a file and resumed on either
//! backend with one or two threads gives exactly the samples and statistics of the
//! uninterrupted run — with per-chain β, changed weights, runtime clamps, a non-default
//! update rule, model clamps and padding lanes in the saved state.

use blockgibbs_ir::{Model, ModelBuilder, NodeId, NodeKind, UpdateRule};
use blockgibbs_runtime::{
    BackendChoice, Chains, EnergyObserver, Moments, ObserverHandle, RunStatus, SampleCollector,
    Sampler, SamplingSchedule, ScalarObservables, jit_supported,
};
use std::sync::Arc;

/// Spins on a ring with a model clamp, binaries coupled to them, a Potts ring of
/// categoricals and Gaussians gated by the categoricals and coupled to the spins: every node
/// kind and factor shape.
fn mixed_model() -> Arc<Model> {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 24).unwrap();
    let v = b.group("v", NodeKind::Binary, 8).unwrap();
    let c = b.group("c", NodeKind::Categorical(3), 6).unwrap();
    let x = b.group("x", NodeKind::Gaussian, 6).unwrap();
    let si = s.ids();
    let next: Vec<NodeId> = (0..24).map(|i| si[(i + 1) % 24]).collect();
    let j: Vec<f32> = (0..24).map(|i| 0.3 + 0.02 * i as f32).collect();
    b.pair_coupling("j", &si, &next, &j);
    b.linear_bias("h", &si, &[0.05; 24]);
    b.pair_coupling(
        "w",
        &v.ids(),
        &si[..8],
        &[0.4, -0.3, 0.2, 0.5, -0.1, 0.3, 0.2, -0.4],
    );
    let ci = c.ids();
    let cnext: Vec<NodeId> = (0..6).map(|i| ci[(i + 1) % 6]).collect();
    b.potts_coupling("p", &ci, &cnext, &[0.7; 6]);
    b.categorical_bias("theta", &ci, &[0.1, -0.2, 0.3].repeat(6));
    b.gaussian_precision("lambda", &x.ids(), &[2.0; 6]);
    b.gaussian_linear("eta", &x.ids(), &[0.3, -0.1, 0.2, 0.0, 0.5, -0.4]);
    b.gaussian_discrete_coupling("xs", &x.ids(), &si[..6], &[0.25; 6]);
    b.gated_gaussian_mean("gate", &ci, &x.ids(), &[0.2, -0.3, 0.4].repeat(6));
    b.clamp(si[23], 1.0);
    Arc::new(b.build().unwrap())
}

const CHAINS: usize = 21;

fn schedule() -> SamplingSchedule {
    SamplingSchedule::new(7, 30, 3)
}

fn build(model: &Arc<Model>, backend: BackendChoice, threads: usize) -> Sampler {
    let s = Sampler::builder(model.clone())
        .backend(backend)
        .chains(CHAINS)
        .threads(threads)
        .seed(11)
        .build()
        .unwrap();
    if backend == BackendChoice::Jit && jit_supported() {
        assert_eq!(s.backend_name(), "jit", "{:?}", s.fallback());
    }
    s
}

/// The changes a simulator makes before and during a run: per-chain β, new weights, clamps
/// in one chain and in all, a block on its mode.
fn configure(s: &mut Sampler) {
    let betas: Vec<f32> = (0..CHAINS).map(|c| 0.6 + 0.05 * c as f32).collect();
    s.set_betas(&betas).unwrap();
    let j = s.model().factor_id("j").unwrap();
    let new: Vec<f32> = (0..24).map(|i| 0.5 - 0.03 * i as f32).collect();
    s.set_weights(j, &new).unwrap();
    let theta = s.model().factor_id("theta").unwrap();
    s.set_instance_weights(theta, 2, &[1.0, 0.0, -1.0]).unwrap();
    s.clamp(NodeId(5), -1.0, Chains::One(3)).unwrap();
    s.clamp(NodeId(26), 1.0, Chains::All).unwrap();
    let binary = s
        .program()
        .blocks
        .iter()
        .position(|b| b.kind == NodeKind::Binary)
        .unwrap();
    s.set_rule(binary, UpdateRule::Mode).unwrap();
}

struct Handles {
    samples: ObserverHandle<SampleCollector>,
    moments: ObserverHandle<Moments>,
    energy: ObserverHandle<EnergyObserver>,
    scalars: ObserverHandle<ScalarObservables>,
}

fn fresh_observers(model: &Model) -> (SampleCollector, Moments, EnergyObserver, ScalarObservables) {
    let all: Vec<NodeId> = (0..model.node_count() as u32).map(NodeId).collect();
    (
        SampleCollector::new(all.clone()),
        Moments::new(
            all[..12].to_vec(),
            vec![(NodeId(0), NodeId(1)), (NodeId(3), NodeId(40))],
        ),
        EnergyObserver::default(),
        ScalarObservables::standard(model),
    )
}

fn attach(s: &mut Sampler) -> Handles {
    let (a, b, c, d) = fresh_observers(&s.model().clone());
    Handles {
        samples: s.attach(a),
        moments: s.attach(b),
        energy: s.attach(c),
        scalars: s.attach(d),
    }
}

fn attach_restored(s: &mut Sampler) -> Handles {
    let (a, b, c, d) = fresh_observers(&s.model().clone());
    Handles {
        samples: s.attach_restored(a).unwrap(),
        moments: s.attach_restored(b).unwrap(),
        energy: s.attach_restored(c).unwrap(),
        scalars: s.attach_restored(d).unwrap(),
    }
}

/// An estimate as bits: name, mean, standard error, ESS, observations.
type EstimateBits = (String, u64, Option<u64>, Option<u64>, u64);

/// Everything a run produced, as bits.
#[derive(Debug, PartialEq)]
struct Recorded {
    samples: Vec<u32>,
    shape: [usize; 3],
    means: Vec<u64>,
    pair_means: Vec<u64>,
    count: u64,
    energies: Vec<u64>,
    estimates: Vec<EstimateBits>,
    states: Vec<u32>,
    sweeps: u64,
}

fn record(s: &Sampler, h: &Handles) -> Recorded {
    let samples = s.observer(&h.samples).unwrap();
    let moments = s.observer(&h.moments).unwrap();
    let mut states = vec![0.0; s.chains() * s.model().node_count()];
    s.read_states(&mut states).unwrap();
    Recorded {
        samples: samples.data.iter().map(|v| v.to_bits()).collect(),
        shape: samples.shape(),
        means: moments.means().iter().map(|v| v.to_bits()).collect(),
        pair_means: moments.pair_means().iter().map(|v| v.to_bits()).collect(),
        count: moments.count(),
        energies: s
            .observer(&h.energy)
            .unwrap()
            .energies
            .iter()
            .flatten()
            .map(|v| v.to_bits())
            .collect(),
        estimates: s
            .observer(&h.scalars)
            .unwrap()
            .estimates()
            .into_iter()
            .map(|(n, e)| {
                (
                    n,
                    e.mean.to_bits(),
                    e.stderr.map(f64::to_bits),
                    e.ess.map(f64::to_bits),
                    e.observations,
                )
            })
            .collect(),
        states: states.iter().map(|v| v.to_bits()).collect(),
        sweeps: s.sweeps_done(),
    }
}

fn finish(s: &mut Sampler) {
    let status = s
        .advance(u64::MAX, &mut [], &|| false, &mut |_, _| {})
        .unwrap();
    assert_eq!(status, RunStatus::Finished);
}

fn baseline(model: &Arc<Model>) -> Recorded {
    let mut s = build(model, BackendChoice::Reference, 1);
    configure(&mut s);
    let h = attach(&mut s);
    s.start_schedule(schedule());
    finish(&mut s);
    let r = record(&s, &h);
    assert_eq!(r.shape, [30, CHAINS, 44]);
    assert_eq!(r.sweeps, schedule().total_sweeps());
    r
}

const CONFIGS: [(BackendChoice, usize); 4] = [
    (BackendChoice::Reference, 1),
    (BackendChoice::Reference, 2),
    (BackendChoice::Jit, 1),
    (BackendChoice::Jit, 2),
];

#[test]
fn resumed_runs_equal_the_uninterrupted_run_on_every_backend_and_thread_count() {
    let model = mixed_model();
    let expected = baseline(&model);
    let dir = tempfile::tempdir().unwrap();
    for (w, &(write_backend, write_threads)) in CONFIGS.iter().enumerate() {
        // Cut at the start, right at the first observation, and inside an interval.
        for cut in [0u64, 7, 50] {
            let path = dir.path().join(format!("run-{w}-{cut}.ckpt"));
            let mut s = build(&model, write_backend, write_threads);
            configure(&mut s);
            let h = attach(&mut s);
            s.start_schedule(schedule());
            let status = s.advance(cut, &mut [], &|| false, &mut |_, _| {}).unwrap();
            assert_eq!(status, RunStatus::Paused);
            s.checkpoint(&path).unwrap();
            // Writing a checkpoint changes nothing in the run that wrote it.
            finish(&mut s);
            assert_eq!(
                record(&s, &h),
                expected,
                "writer {write_backend:?}/{write_threads}"
            );
            for &(backend, threads) in &CONFIGS {
                let mut r = Sampler::resume(&path)
                    .backend(backend)
                    .threads(threads)
                    .open()
                    .unwrap();
                assert_eq!(r.sweeps_done(), cut);
                assert_eq!(r.threads(), threads);
                assert_eq!(r.saved_observers().len(), 4);
                let rh = attach_restored(&mut r);
                assert!(r.saved_observers().is_empty());
                finish(&mut r);
                assert_eq!(
                    record(&r, &rh),
                    expected,
                    "written on {write_backend:?}/{write_threads} at sweep {cut}, resumed on {backend:?}/{threads}"
                );
                // The configuration came back too.
                assert_eq!(r.all_weights(), s.all_weights());
                assert_eq!(r.runtime_clamps(), s.runtime_clamps());
                assert_eq!(r.rules(), s.rules());
                for c in 0..CHAINS {
                    assert_eq!(r.beta(c).unwrap().to_bits(), s.beta(c).unwrap().to_bits());
                }
            }
        }
    }
}

#[test]
fn a_checkpoint_of_a_checkpoint_continues_identically() {
    let model = mixed_model();
    let expected = baseline(&model);
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.ckpt");
    let mut s = build(&model, BackendChoice::Jit, 2);
    configure(&mut s);
    attach(&mut s);
    s.start_schedule(schedule());
    s.advance(20, &mut [], &|| false, &mut |_, _| {}).unwrap();
    s.checkpoint(&first).unwrap();
    let mut r = Sampler::resume(&first).threads(1).open().unwrap();
    attach_restored(&mut r);
    r.advance(33, &mut [], &|| false, &mut |_, _| {}).unwrap();
    // Overwriting the file it came from is fine: the write is atomic.
    r.checkpoint(&first).unwrap();
    let mut again = Sampler::resume(&first)
        .backend(BackendChoice::Reference)
        .threads(2)
        .open()
        .unwrap();
    let h = attach_restored(&mut again);
    finish(&mut again);
    assert_eq!(record(&again, &h), expected);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "temporary files left behind: {names:?}");
}

/// With few chains on a big block the heads are split across threads; resuming that on one
/// thread (and the reverse) still gives the same bits.
#[test]
fn split_head_sweeps_resume_identically() {
    let side = 64usize;
    let mut b = ModelBuilder::new();
    let g = b.group("s", NodeKind::Spin, side * side).unwrap();
    let (mut a, mut c) = (Vec::new(), Vec::new());
    for i in 0..side {
        for j in 0..side {
            a.extend([g.node(i * side + j), g.node(i * side + j)]);
            c.extend([
                g.node(i * side + (j + 1) % side),
                g.node(((i + 1) % side) * side + j),
            ]);
        }
    }
    b.pair_coupling("j", &a, &c, &vec![0.4; a.len()]);
    let model = Arc::new(b.build().unwrap());
    let all: Vec<NodeId> = g.ids();
    let start = |threads: usize| {
        let mut s = Sampler::builder(model.clone())
            .chains(3)
            .threads(threads)
            .seed(5)
            .build()
            .unwrap();
        let h = s.attach(SampleCollector::new(all.clone()));
        s.start_schedule(SamplingSchedule::new(5, 6, 2));
        (s, h)
    };
    let run = |threads_before: usize, threads_after: usize, cut: u64| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.ckpt");
        let (mut s, _) = start(threads_before);
        s.advance(cut, &mut [], &|| false, &mut |_, _| {}).unwrap();
        s.checkpoint(&path).unwrap();
        let mut r = Sampler::resume(&path)
            .threads(threads_after)
            .open()
            .unwrap();
        let h = r
            .attach_restored(SampleCollector::new(all.clone()))
            .unwrap();
        finish(&mut r);
        r.detach(h).unwrap().data
    };
    let (mut s, h) = start(1);
    finish(&mut s);
    let whole = s.detach(h).unwrap().data;
    assert_eq!(whole.len(), 6 * 3 * side * side);
    assert_eq!(run(2, 1, 6), whole);
    assert_eq!(run(1, 2, 9), whole);
}
