//! `--set KEY=VALUE` overrides, applied to the TOML document before it is deserialised.
//!
//! KEY is a dotted path (`model.L`, `schedule.chains`, `model.factors.0.weights`: a numeric
//! segment indexes an array). VALUE is parsed as a TOML value (integer, float, boolean, array,
//! inline table or quoted string); anything that does not parse is taken as a plain string,
//! so `--set model.family=ising3d` works without quotes. Missing tables along the path are
//! created; unknown keys are then rejected by the schema exactly as in a file.

use super::error::ModelFileError;
use toml::{Table, Value};

/// Parses VALUE as a TOML value, falling back to a plain string.
pub fn parse_value(text: &str) -> Value {
    let trimmed = text.trim();
    if !trimmed.is_empty()
        && let Ok(mut table) = toml::from_str::<Table>(&format!("v = {trimmed}"))
        && table.len() == 1
        && let Some(v) = table.remove("v")
    {
        return v;
    }
    Value::String(text.to_string())
}

/// Applies one `KEY=VALUE` override to `doc`.
pub fn apply(doc: &mut Table, arg: &str) -> Result<(), ModelFileError> {
    // Walk tables and arrays alike through a `Value` root; the document is put back
    // whatever happens.
    let mut root = Value::Table(std::mem::take(doc));
    let result = apply_to(&mut root, arg);
    if let Value::Table(t) = root {
        *doc = t;
    }
    result.map_err(|reason| ModelFileError::InvalidOverride {
        arg: arg.to_string(),
        reason,
    })
}

/// Applies every override in order.
pub fn apply_all(doc: &mut Table, args: &[String]) -> Result<(), ModelFileError> {
    args.iter().try_for_each(|a| apply(doc, a))
}

fn apply_to(root: &mut Value, arg: &str) -> Result<(), String> {
    let (key, value) = arg.split_once('=').ok_or("expected KEY=VALUE")?;
    let segments: Vec<&str> = key.trim().split('.').map(str::trim).collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!("`{key}` is not a dotted key path"));
    }
    let value = parse_value(value);
    let Some((last, parents)) = segments.split_last() else {
        return Err("empty key".into());
    };
    let mut here = root;
    let mut walked = String::new();
    for seg in parents {
        here = step(here, seg, &walked)?;
        walked = if walked.is_empty() {
            seg.to_string()
        } else {
            format!("{walked}.{seg}")
        };
    }
    let kind = here.type_str();
    match here {
        Value::Table(t) => {
            t.insert(last.to_string(), value);
        }
        Value::Array(a) => *index_into(a, last, &walked)? = value,
        _ => return Err(format!("`{walked}` is a {kind}, not a table")),
    }
    Ok(())
}

/// Walks one segment down from `here`, creating a table when the key is missing.
fn step<'a>(here: &'a mut Value, seg: &str, walked: &str) -> Result<&'a mut Value, String> {
    let shown = if walked.is_empty() {
        "the document"
    } else {
        walked
    };
    let kind = here.type_str();
    match here {
        Value::Table(t) => {
            if !t.contains_key(seg) {
                t.insert(seg.to_string(), Value::Table(Table::new()));
            }
            Ok(t.get_mut(seg).expect("inserted above"))
        }
        Value::Array(a) => index_into(a, seg, walked),
        _ => Err(format!("`{shown}` is a {kind}, not a table")),
    }
}

fn index_into<'a>(a: &'a mut [Value], seg: &str, walked: &str) -> Result<&'a mut Value, String> {
    let len = a.len();
    let i: usize = seg
        .parse()
        .map_err(|_| format!("`{walked}` is an array; index it with a number, not `{seg}`"))?;
    a.get_mut(i)
        .ok_or_else(|| format!("index {i} is out of range for `{walked}` of {len} entries"))
}
