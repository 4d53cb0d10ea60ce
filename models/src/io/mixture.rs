//! Save/load of a [`GaussianMixture`] in the safetensors layout of [this module's
//! parent](super).
//!
//! | metadata key      | value                                                      |
//! |-------------------|------------------------------------------------------------|
//! | `kind`            | `"gaussian_mixture"` ([`KIND_MIXTURE`])                    |
//! | `covariance_type` | `"full"`, `"diag"`, `"spherical"` or `"fixed"` ([`CovarianceType::name`]) |
//! | `n_components`    | `K`, decimal                                               |
//! | `n_features`      | `d`, decimal                                               |
//!
//! plus `format` and `format_version` as for every kind. The tensors are `F64` (the model's
//! own precision, so a round trip is bit-exact), in this order:
//!
//! | tensor        | shape                                                   | meaning                     |
//! |---------------|---------------------------------------------------------|-----------------------------|
//! | `weights`     | `[K]`                                                   | mixture weights `w_k`       |
//! | `means`       | `[K, d]`                                                | means `μ_k`                 |
//! | `covariances` | `[K, d, d]` full, `[K, d]` diag, `[K]` spherical; absent for fixed | scikit-learn's `covariances_` |
//!
//! so in NumPy `load_file(p)["covariances"]` is scikit-learn's `covariances_` of the same
//! `covariance_type`. The precision Cholesky factors are not stored: they are a cache that
//! loading recomputes exactly as fitting does. Loading checks the metadata, every tensor's
//! presence, dtype, shape and finiteness, and then builds the mixture with
//! [`GaussianMixture::new`], whose rejections (weights not summing to 1, a covariance that is
//! not positive definite, naming the component) come back as [`ModelIoError::Mixture`].
//! [`super::AnyModel`] reads the kind as `AnyModel::Mixture`.

use super::f64_tensors::{f64_entry, read_f64};
use super::{
    ModelIo, ModelIoError, bad_value, check_header, check_names, encode, meta_parse, meta_str,
    parse,
};
use crate::expfam::CovarianceType;
use crate::mixture::GaussianMixture;

/// `kind` of a [`GaussianMixture`] file.
pub const KIND_MIXTURE: &str = "gaussian_mixture";

/// The shape of the `covariances` tensor, `None` for fixed covariances.
fn covariance_shape(ty: CovarianceType, k: usize, d: usize) -> Option<Vec<usize>> {
    match ty {
        CovarianceType::Full => Some(vec![k, d, d]),
        CovarianceType::Diagonal => Some(vec![k, d]),
        CovarianceType::Isotropic => Some(vec![k]),
        CovarianceType::Fixed => None,
    }
}

impl ModelIo for GaussianMixture {
    const KIND: &'static str = KIND_MIXTURE;

    fn to_safetensors(&self) -> Vec<u8> {
        let (k, d, ty) = (
            self.n_components(),
            self.n_features(),
            self.covariance_type(),
        );
        let meta = super::metadata(
            Self::KIND,
            [
                ("covariance_type", ty.name().to_string()),
                ("n_components", k.to_string()),
                ("n_features", d.to_string()),
            ],
        );
        let mut tensors = vec![
            f64_entry("weights", vec![k], self.weights()),
            f64_entry("means", vec![k, d], self.means()),
        ];
        if let Some(shape) = covariance_shape(ty, k, d) {
            tensors.push(f64_entry("covariances", shape, self.covariances()));
        }
        encode(tensors, meta)
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let file = parse(bytes)?;
        check_header(&file, Some(Self::KIND))?;
        let name = meta_str(&file, "covariance_type")?;
        // Only the canonical names are written; accept exactly those.
        let ty = [
            CovarianceType::Full,
            CovarianceType::Diagonal,
            CovarianceType::Isotropic,
            CovarianceType::Fixed,
        ]
        .into_iter()
        .find(|t| t.name() == name)
        .ok_or_else(|| {
            bad_value(
                "covariance_type",
                name,
                "expected full, diag, spherical or fixed",
            )
        })?;
        let k: usize = meta_parse(&file, "n_components")?;
        let d: usize = meta_parse(&file, "n_features")?;
        for (key, value) in [("n_components", k), ("n_features", d)] {
            if value == 0 {
                return Err(bad_value(key, "0", "must be at least 1"));
            }
        }
        let cov_shape = covariance_shape(ty, k, d);
        let names: &[&str] = match cov_shape {
            Some(_) => &["weights", "means", "covariances"],
            None => &["weights", "means"],
        };
        check_names(&file, Self::KIND, names)?;
        let weights = read_f64(&file, "weights", &[k])?;
        let means = read_f64(&file, "means", &[k, d])?;
        let covariances = match &cov_shape {
            Some(shape) => read_f64(&file, "covariances", shape)?,
            None => Vec::new(),
        };
        Ok(GaussianMixture::new(ty, weights, means, covariances)?)
    }
}
