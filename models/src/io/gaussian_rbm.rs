//! Save/load of a [`GaussianRbm`] in the safetensors layout of [this module's parent](super).
//!
//! | metadata key | value                                   |
//! |--------------|-----------------------------------------|
//! | `kind`       | `"gaussian_rbm"` ([`KIND_GAUSSIAN_RBM`]) |
//! | `n_visible`, `n_hidden` | layer sizes, decimal         |
//!
//! plus `format` and `format_version` as for every kind, and the tensors (all `F32`, in this
//! order):
//!
//! | tensor        | shape                   | meaning                          |
//! |---------------|-------------------------|----------------------------------|
//! | `weights`     | `[n_visible, n_hidden]` | `W[i, j]`                        |
//! | `loc`         | `[n_visible]`           | visible locations `u_i`          |
//! | `log_var`     | `[n_visible]`           | visible log-variances `ln σ_i²`  |
//! | `hidden_bias` | `[n_hidden]`            | `b_j`                            |
//!
//! Loading runs the same checks as the other kinds and then [`GaussianRbm::new`], so a loaded
//! machine is always valid; [`super::AnyModel`] reads it as `AnyModel::GaussianRbm`.

use super::{
    ModelIo, ModelIoError, check_header, check_names, encode, f32_entry, meta_parse, parse,
    read_f32,
};
use crate::rbm::gaussian::GaussianRbm;

/// `kind` of a [`GaussianRbm`] file.
pub const KIND_GAUSSIAN_RBM: &str = "gaussian_rbm";

/// Tensor names, in file order.
const TENSORS: [&str; 4] = ["weights", "loc", "log_var", "hidden_bias"];

impl ModelIo for GaussianRbm {
    const KIND: &'static str = KIND_GAUSSIAN_RBM;

    fn to_safetensors(&self) -> Vec<u8> {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        let meta = super::metadata(
            Self::KIND,
            [("n_visible", nv.to_string()), ("n_hidden", nh.to_string())],
        );
        let tensors = vec![
            f32_entry(TENSORS[0], vec![nv, nh], self.weights()),
            f32_entry(TENSORS[1], vec![nv], self.loc()),
            f32_entry(TENSORS[2], vec![nv], self.log_var()),
            f32_entry(TENSORS[3], vec![nh], self.hidden_bias()),
        ];
        encode(tensors, meta)
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let file = parse(bytes)?;
        check_header(&file, Some(Self::KIND))?;
        check_names(&file, Self::KIND, &TENSORS)?;
        let nv: usize = meta_parse(&file, "n_visible")?;
        let nh: usize = meta_parse(&file, "n_hidden")?;
        let weights = read_f32(&file, TENSORS[0], &[nv, nh])?;
        let loc = read_f32(&file, TENSORS[1], &[nv])?;
        let log_var = read_f32(&file, TENSORS[2], &[nv])?;
        let hidden = read_f32(&file, TENSORS[3], &[nh])?;
        Ok(GaussianRbm::new(nv, nh, weights, loc, log_var, hidden)?)
    }
}
