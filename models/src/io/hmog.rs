//! Save/load of a hierarchical mixture of Gaussians ([`Hmog`]) in the safetensors layout of
//! [this module's parent](super).
//!
//! | metadata key        | value                                                             |
//! |---------------------|-------------------------------------------------------------------|
//! | `kind`              | `"hmog"` ([`KIND_HMOG`])                                          |
//! | `variant`           | `analytic`, `symmetric` or `differentiable`                       |
//! | `restricted`        | the restricted covariance type of `symmetric` (components) or `differentiable` (posterior): `diag`, `spherical` or `fixed`; absent for `analytic` |
//! | `observable_covariance` | the observable noise type: `full`, `diag`, `spherical` or `fixed` |
//! | `n_features`        | `d`, decimal                                                      |
//! | `latent_dim`        | `k`, decimal                                                      |
//! | `n_components`      | `K`, decimal                                                      |
//!
//! plus `format` and `format_version` as for every kind. The natural parameters, all `F64`
//! (they round-trip exactly), in this order; `p_X`, `p_Y` and `p_C` are the parameter counts
//! of the observable family, of [`Hmog::bias_family`] and of [`Hmog::component_family`]
//! (their layouts are documented on [`crate::expfam::Gaussian`]):
//!
//! | tensor                | shape          | meaning                                   |
//! |-----------------------|----------------|-------------------------------------------|
//! | `observable_bias`     | `[p_X]`        | `θ_X`                                     |
//! | `interaction`         | `[d, k]`       | `Θ_XY`                                    |
//! | `latent_bias`         | `[p_Y]`        | `θ_Y`                                     |
//! | `mixture_interaction` | `[p_C, K − 1]` | `Θ_YZ`                                    |
//! | `category_bias`       | `[K − 1]`      | `θ_Z`                                     |
//!
//! Loading rebuilds the model through [`Hmog::new`], which checks that it is normalisable.

use super::f64_tensors::{f64_entry, read_f64};
use super::{
    ModelIo, ModelIoError, Parsed, bad_value, check_header, check_names, encode, meta_parse,
    meta_str, parse,
};
use crate::expfam::{CovarianceType, ExponentialFamily, Gaussian};
use crate::hmog::{Hmog, HmogParams, HmogVariant};

/// `kind` of an [`Hmog`] file.
pub const KIND_HMOG: &str = "hmog";

/// Tensor names, in file order.
const TENSORS: [&str; 5] = [
    "observable_bias",
    "interaction",
    "latent_bias",
    "mixture_interaction",
    "category_bias",
];

impl ModelIo for Hmog {
    const KIND: &'static str = KIND_HMOG;

    fn to_safetensors(&self) -> Vec<u8> {
        let (d, k, kk) = (
            self.observable().data_dim(),
            self.latent_dim(),
            self.components(),
        );
        let (variant, restricted) = match self.variant() {
            HmogVariant::Analytic => ("analytic", None),
            HmogVariant::Symmetric { components } => ("symmetric", Some(components)),
            HmogVariant::Differentiable { posterior } => ("differentiable", Some(posterior)),
        };
        let mut meta = super::metadata(
            Self::KIND,
            [
                ("variant", variant.to_string()),
                (
                    "observable_covariance",
                    self.observable().covariance_type().name().to_string(),
                ),
                ("n_features", d.to_string()),
                ("latent_dim", k.to_string()),
                ("n_components", kk.to_string()),
            ],
        );
        if let Some(r) = restricted {
            meta.insert("restricted".into(), r.name().into());
        }
        let p = self.parts();
        let tensors = vec![
            f64_entry(
                TENSORS[0],
                vec![p.observable_bias.len()],
                &p.observable_bias,
            ),
            f64_entry(TENSORS[1], vec![d, k], &p.interaction),
            f64_entry(TENSORS[2], vec![p.latent_bias.len()], &p.latent_bias),
            f64_entry(
                TENSORS[3],
                vec![self.component_family().dim(), kk - 1],
                &p.mixture_interaction,
            ),
            f64_entry(TENSORS[4], vec![kk - 1], &p.category_bias),
        ];
        encode(tensors, meta)
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let file = parse(bytes)?;
        check_header(&file, Some(Self::KIND))?;
        check_names(&file, Self::KIND, &TENSORS)?;
        let covariance = |key: &str| -> Result<CovarianceType, ModelIoError> {
            let text = meta_str(&file, key)?;
            CovarianceType::parse(text)
                .ok_or_else(|| bad_value(key, text, "expected full, diag, spherical or fixed"))
        };
        let restricted = |file: &Parsed<'_>| -> Result<CovarianceType, ModelIoError> {
            let text = meta_str(file, "restricted")?;
            match CovarianceType::parse(text) {
                Some(CovarianceType::Full) | None => Err(bad_value(
                    "restricted",
                    text,
                    "expected diag, spherical or fixed",
                )),
                Some(c) => Ok(c),
            }
        };
        let variant_text = meta_str(&file, "variant")?;
        let variant = match variant_text {
            "analytic" => HmogVariant::Analytic,
            "symmetric" => HmogVariant::Symmetric {
                components: restricted(&file)?,
            },
            "differentiable" => HmogVariant::Differentiable {
                posterior: restricted(&file)?,
            },
            other => {
                return Err(bad_value(
                    "variant",
                    other,
                    "expected analytic, symmetric or differentiable",
                ));
            }
        };
        let d: usize = meta_parse(&file, "n_features")?;
        let k: usize = meta_parse(&file, "latent_dim")?;
        let kk: usize = meta_parse(&file, "n_components")?;
        let observable = Gaussian::new(d, covariance("observable_covariance")?)
            .map_err(|e| bad_value("n_features", &d.to_string(), e))?;
        if k == 0 || kk < 2 {
            return Err(bad_value(
                if k == 0 { "latent_dim" } else { "n_components" },
                &(if k == 0 { k } else { kk }).to_string(),
                "need latent_dim ≥ 1 and n_components ≥ 2",
            ));
        }
        let dims = |ty: CovarianceType| ty.parameter_count(k) + k;
        let (bias_ty, comp_ty) = match variant {
            HmogVariant::Analytic => (CovarianceType::Full, CovarianceType::Full),
            HmogVariant::Symmetric { components } => (CovarianceType::Full, components),
            HmogVariant::Differentiable { posterior } => (posterior, posterior),
        };
        let params = HmogParams {
            observable_bias: read_f64(&file, TENSORS[0], &[observable.dim()])?,
            interaction: read_f64(&file, TENSORS[1], &[d, k])?,
            latent_bias: read_f64(&file, TENSORS[2], &[dims(bias_ty)])?,
            mixture_interaction: read_f64(&file, TENSORS[3], &[dims(comp_ty), kk - 1])?,
            category_bias: read_f64(&file, TENSORS[4], &[kk - 1])?,
        };
        Hmog::new(variant, observable, k, kk, params).map_err(|e| {
            bad_value(
                "kind",
                KIND_HMOG,
                format!("the parameters do not make a valid model: {e}"),
            )
        })
    }
}
