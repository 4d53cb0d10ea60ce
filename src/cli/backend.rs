//! Backend selection for the command line: the library's choice, with the fallback note
//! printed on stderr.

use crate::backend::{BackendChoice, make_backend};
use blockgibbs_compiler::Backend;
use blockgibbs_ir::Program;
use std::sync::Arc;

/// Builds the chosen (or default) backend, telling the user on stderr when the JIT could not
/// be used.
pub fn backend_for_cli(choice: Option<BackendChoice>, program: Arc<Program>) -> Arc<dyn Backend> {
    let selection = make_backend(choice, program);
    if let Some(note) = selection.fallback {
        eprintln!("note: {note}");
    }
    selection.backend
}
