//! Save/load of multiDGD-style mixture priors ([`GaussianMixturePrior`] and
//! [`SupervisedGaussianMixturePrior`]) in the safetensors layout of [this module's
//! parent](super).
//!
//! | metadata key          | value                                                           |
//! |-----------------------|-----------------------------------------------------------------|
//! | `kind`                | `"gmm_prior"` ([`KIND_GMM_PRIOR`]) or `"gmm_prior_supervised"` ([`KIND_GMM_PRIOR_SUPERVISED`]) |
//! | `n_components`        | `K`, decimal                                                    |
//! | `dim`                 | `d`, decimal                                                    |
//! | `covariance_type`     | `diag`, `spherical` or `fixed`                                  |
//! | `softball_radius`     | radius `r` of the softball prior on the means                   |
//! | `softball_hardness`   | hardness `s` of its edge                                        |
//! | `log_var_prior_loc`   | mean of the Gaussian prior on each log-variance (not for `fixed`) |
//! | `log_var_prior_scale` | its standard deviation (not for `fixed`)                        |
//! | `dirichlet_alpha`     | α of the Dirichlet prior on the weights                         |
//! | `n_class`             | classes (supervised only), decimal                              |
//! | `per_class`           | components per class (supervised only; `K = n_class · per_class`) |
//!
//! plus `format` and `format_version` as for every kind. Reals are written as Rust's shortest
//! round-trip decimal (e.g. `"2.0"`, `"1e-7"`), which `float()` in Python parses exactly. The
//! log-variance prior is stored as the Gaussian it is (location and scale of `ln σ²`), not as the
//! `(sd_mean, sd_sd)` it may have been built from. The tensors (all `F64`, so that parameters
//! round-trip exactly; in this order):
//!
//! | tensor          | shape              | meaning                                              |
//! |-----------------|--------------------|------------------------------------------------------|
//! | `means`         | `[K, d]`           | component means `μ_k`                                |
//! | `log_var`       | `[K, d]` (`diag`), `[K]` (`spherical`); absent for `fixed` | log-variances `ln σ²` |
//! | `weight_logits` | `[K]`              | free logits `a`, weights `softmax(a)`                |
//!
//! Component `k` of a supervised prior belongs to class `k / per_class`. Loading checks every
//! key, dtype, shape and value and then builds the priors and the mixture through their
//! validating constructors; their rejections come back as
//! [`ModelIoError::InvalidValue`] naming the metadata key (e.g. `softball_radius` for a
//! non-positive radius).

use super::f64_tensors::{f64_entry, read_f64, real};
use super::{
    ModelIo, ModelIoError, Parsed, bad_value, check_header, check_names, encode, meta_parse,
    meta_str, parse,
};
use crate::dgd::{
    CovarianceType, DgdError, DirichletPrior, GaussianMixturePrior, LogVariancePrior,
    SoftballPrior, SupervisedGaussianMixturePrior,
};

/// `kind` of a [`GaussianMixturePrior`] file.
pub const KIND_GMM_PRIOR: &str = "gmm_prior";
/// `kind` of a [`SupervisedGaussianMixturePrior`] file.
pub const KIND_GMM_PRIOR_SUPERVISED: &str = "gmm_prior_supervised";

impl ModelIo for GaussianMixturePrior {
    const KIND: &'static str = KIND_GMM_PRIOR;

    fn to_safetensors(&self) -> Vec<u8> {
        write(self, Self::KIND, &[])
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let file = parse(bytes)?;
        check_header(&file, Some(Self::KIND))?;
        read(&file, Self::KIND)
    }
}

impl ModelIo for SupervisedGaussianMixturePrior {
    const KIND: &'static str = KIND_GMM_PRIOR_SUPERVISED;

    fn to_safetensors(&self) -> Vec<u8> {
        let classes = [
            ("n_class", self.n_class().to_string()),
            ("per_class", self.per_class().to_string()),
        ];
        write(self.mixture(), Self::KIND, &classes)
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let file = parse(bytes)?;
        check_header(&file, Some(Self::KIND))?;
        let mixture = read(&file, Self::KIND)?;
        let n_class: usize = meta_parse(&file, "n_class")?;
        let per_class: usize = meta_parse(&file, "per_class")?;
        SupervisedGaussianMixturePrior::from_mixture(n_class, per_class, mixture)
            .map_err(|e| rejected(&file, e))
    }
}

fn write(prior: &GaussianMixturePrior, kind: &str, extra: &[(&str, String)]) -> Vec<u8> {
    let (k, d) = (prior.n_components(), prior.dim());
    let ball = prior.mean_prior();
    let mut meta = super::metadata(
        kind,
        [
            ("n_components", k.to_string()),
            ("dim", d.to_string()),
            (
                "covariance_type",
                prior.covariance_type().name().to_string(),
            ),
            ("softball_radius", real(ball.radius())),
            ("softball_hardness", real(ball.hardness())),
            ("dirichlet_alpha", real(prior.weight_prior().alpha())),
        ],
    );
    if let Some(p) = prior.log_var_prior() {
        meta.insert("log_var_prior_loc".into(), real(p.loc()));
        meta.insert("log_var_prior_scale".into(), real(p.scale()));
    }
    for (key, value) in extra {
        meta.insert((*key).into(), value.clone());
    }
    let mut tensors = vec![f64_entry("means", vec![k, d], prior.means())];
    if let Some(shape) = log_var_shape(prior.covariance_type(), k, d) {
        tensors.push(f64_entry("log_var", shape, prior.log_var()));
    }
    tensors.push(f64_entry("weight_logits", vec![k], prior.weight_logits()));
    encode(tensors, meta)
}

fn read(file: &Parsed<'_>, kind: &'static str) -> Result<GaussianMixturePrior, ModelIoError> {
    let k: usize = meta_parse(file, "n_components")?;
    let d: usize = meta_parse(file, "dim")?;
    let cov_text = meta_str(file, "covariance_type")?;
    let covariance = match CovarianceType::parse(cov_text) {
        Some(c) if c != CovarianceType::Full => c,
        _ => {
            return Err(bad_value(
                "covariance_type",
                cov_text,
                "expected diag, spherical or fixed",
            ));
        }
    };
    let log_var_shape = log_var_shape(covariance, k, d);
    let names: &[&str] = match log_var_shape {
        Some(_) => &["means", "log_var", "weight_logits"],
        None => &["means", "weight_logits"],
    };
    check_names(file, kind, names)?;
    let mean_prior = SoftballPrior::new(
        d,
        meta_parse(file, "softball_radius")?,
        meta_parse(file, "softball_hardness")?,
    )
    .map_err(|e| rejected(file, e))?;
    let log_var_prior = match log_var_shape {
        Some(_) => Some(
            LogVariancePrior::new(
                meta_parse(file, "log_var_prior_loc")?,
                meta_parse(file, "log_var_prior_scale")?,
            )
            .map_err(|e| rejected(file, e))?,
        ),
        None => None,
    };
    let weight_prior = DirichletPrior::new(k, meta_parse(file, "dirichlet_alpha")?)
        .map_err(|e| rejected(file, e))?;
    let means = read_f64(file, "means", &[k, d])?;
    let log_var = match &log_var_shape {
        Some(shape) => read_f64(file, "log_var", shape)?,
        None => Vec::new(),
    };
    let logits = read_f64(file, "weight_logits", &[k])?;
    GaussianMixturePrior::from_parts(
        covariance,
        mean_prior,
        log_var_prior,
        weight_prior,
        means,
        log_var,
        logits,
    )
    .map_err(|e| rejected(file, e))
}

fn log_var_shape(covariance: CovarianceType, k: usize, d: usize) -> Option<Vec<usize>> {
    match covariance {
        CovarianceType::Diagonal => Some(vec![k, d]),
        CovarianceType::Isotropic => Some(vec![k]),
        _ => None,
    }
}

/// A constructor's rejection as an invalid value of the metadata key it concerns.
fn rejected(file: &Parsed<'_>, error: DgdError) -> ModelIoError {
    let key = match &error {
        DgdError::InvalidParameter { field, .. } | DgdError::InvalidCount { field, .. } => *field,
        DgdError::Shape { field, .. } | DgdError::NonFinite { field, .. } => *field,
        _ => "kind",
    };
    let value = file.meta.get(key).cloned().unwrap_or_default();
    bad_value(key, &value, error)
}
