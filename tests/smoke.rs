mod common;
use blockgibbs::prelude::*;
use std::sync::Arc;

#[test]
fn five_spin_chain_matches_enumeration() {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 5).unwrap();
    let ids = s.ids();
    b.pair_coupling("j", &ids[..4], &ids[1..], &[0.6, -0.4, 0.8, 0.3]);
    b.linear_bias("h", &ids, &[0.2, -0.1, 0.0, 0.3, -0.5]);
    let model = Arc::new(b.build().unwrap());
    let exact = common::enumerate(&model, &ids, &[], 1.0);
    let samples = common::sample_joint(model, &ids, 64, SamplingSchedule::new(50, 2000, 2), 7);
    let emp = common::histogram(&samples);
    let err = common::max_relative_error(&exact, &emp);
    let thr = common::threshold(&exact, 64 * 2000, 2.0, 5.0);
    println!("err {err} thr {thr}");
    assert!(err < thr, "err {err} thr {thr}");
}
