//! Status codes, the per-thread message of the last error, and the guard every exported
//! function runs its body in, so that no Rust panic ever unwinds into C.

use blockgibbs_facade::model_file::ModelFileError;
use blockgibbs_ir::ModelError;
use blockgibbs_runtime::RuntimeError;
use blockgibbs_runtime::checkpoint::CheckpointError;
use std::cell::RefCell;
use std::ffi::{CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The status code every `bg_*` function that can fail returns (as an `int`). Anything but
/// `BG_OK` leaves a message naming the argument, node, factor, chain or file at fault in
/// `bg_last_error_message()` and changes nothing else.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum bg_status {
    /// Success.
    BG_OK = 0,
    /// A required pointer argument was NULL (the message names the argument).
    BG_NULL_POINTER = 1,
    /// An argument is out of its domain: an unknown node, factor or chain, a value a node's
    /// kind does not admit, a NaN weight, a non-positive β, an unknown enum value, a string
    /// that is not UTF-8, a misaligned buffer.
    BG_INVALID_ARGUMENT = 2,
    /// A buffer or array has the wrong length (the message gives the expected length).
    BG_LENGTH_MISMATCH = 3,
    /// The model is invalid: a builder's description or a model file's content failed
    /// validation or compilation (the message names the node, factor, group or key).
    BG_MODEL = 4,
    /// Sampling failed (a diverging Gaussian, a non-positive precision met in some state).
    BG_RUNTIME = 5,
    /// A file could not be read or written (missing, no permission, a full disk, a
    /// directory where a file was expected).
    BG_IO = 6,
    /// An internal panic was caught at the boundary (a bug in blockgibbs: please report
    /// the message). A handle that was in use when it happened answers `BG_PANIC` from then
    /// on and should be freed.
    BG_PANIC = 7,
    /// A handle that is not live: already freed (a double free included), never returned by
    /// this library, or a handle of another type (a `bg_model*` passed as a `bg_sampler*`).
    BG_STALE_HANDLE = 8,
    /// A file was read but its content is unusable: a checkpoint that is truncated or
    /// damaged, a file that is not a checkpoint at all (another tool's safetensors file, a
    /// text file), or one of a format version this library does not read. The message names
    /// the file and the field at fault.
    BG_FORMAT = 9,
}

impl bg_status {
    /// The status whose code is `code`, if any.
    pub fn from_code(code: c_int) -> Option<bg_status> {
        use bg_status::*;
        [
            BG_OK,
            BG_NULL_POINTER,
            BG_INVALID_ARGUMENT,
            BG_LENGTH_MISMATCH,
            BG_MODEL,
            BG_RUNTIME,
            BG_IO,
            BG_PANIC,
            BG_STALE_HANDLE,
            BG_FORMAT,
        ]
        .into_iter()
        .find(|s| *s as c_int == code)
    }
}

/// A failed call: the status to return and the message to leave for the caller's thread.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Error {
    pub(crate) status: bg_status,
    pub(crate) message: String,
}

impl Error {
    pub(crate) fn new(status: bg_status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(arg: &str) -> Error {
        Error::new(
            bg_status::BG_NULL_POINTER,
            format!("argument `{arg}` is NULL"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(bg_status::BG_INVALID_ARGUMENT, message)
    }

    pub(crate) fn length(what: &str, expected: usize, found: usize) -> Error {
        Error::new(
            bg_status::BG_LENGTH_MISMATCH,
            format!("{what}: expected {expected} values, found {found}"),
        )
    }

    /// A model that failed validation while being built or loaded.
    pub(crate) fn model(e: ModelError) -> Error {
        Error::new(bg_status::BG_MODEL, e.to_string())
    }

    /// A valid model the compiler rejects (blocks, precisions, size): also a model error to
    /// C callers, who see one stage.
    pub(crate) fn compile(e: blockgibbs_facade::compiler::CompileError) -> Error {
        Error::new(bg_status::BG_MODEL, e.to_string())
    }

    /// A model file that could not be read, parsed or built.
    pub(crate) fn model_file(e: ModelFileError) -> Error {
        let status = match &e {
            ModelFileError::Io { .. } | ModelFileError::Npy { .. } => bg_status::BG_IO,
            _ => bg_status::BG_MODEL,
        };
        Error::new(status, e.to_string())
    }

    /// An error of a call on a live sampler: bad arguments are the caller's to fix
    /// (`BG_INVALID_ARGUMENT`, `BG_LENGTH_MISMATCH`), failures of sampling are `BG_RUNTIME`,
    /// weights that make the model improper are `BG_MODEL`.
    pub(crate) fn runtime(e: RuntimeError) -> Error {
        use bg_status::*;
        let status = match &e {
            RuntimeError::LengthMismatch { .. } => BG_LENGTH_MISMATCH,
            RuntimeError::Model(m) => match m {
                ModelError::WeightShapeMismatch { .. } => BG_LENGTH_MISMATCH,
                ModelError::NonFiniteWeight { .. }
                | ModelError::UnknownFactor { .. }
                | ModelError::InstanceOutOfRange { .. }
                | ModelError::UnknownNode { .. } => BG_INVALID_ARGUMENT,
                _ => BG_MODEL,
            },
            // A weight update the compiler's checks refuse (a precision made non-positive).
            RuntimeError::Compile(_) => BG_MODEL,
            RuntimeError::ChainOutOfRange { .. }
            | RuntimeError::BlockOutOfRange { .. }
            | RuntimeError::UnknownNode { .. }
            | RuntimeError::InvalidValue { .. }
            | RuntimeError::NotClamped { .. }
            | RuntimeError::InvalidBeta { .. }
            | RuntimeError::InvalidValueInChain { .. }
            | RuntimeError::ClampedInModel { .. }
            | RuntimeError::UnknownBackend(_)
            | RuntimeError::TooManyThreads { .. }
            | RuntimeError::Memory(_)
            | RuntimeError::NoChains => BG_INVALID_ARGUMENT,
            RuntimeError::ProgramMismatch => BG_MODEL,
            // Sampling failures, and whatever the runtime learns to report later.
            _ => BG_RUNTIME,
        };
        Error::new(status, e.to_string())
    }

    /// A checkpoint that could not be written or resumed. The file system's failures are
    /// `BG_IO`; everything about a file that was read but cannot be resumed — truncated,
    /// foreign, another format version, a stored model or state that does not validate — is
    /// `BG_FORMAT`: the checkpoint was valid when written, so such a file is damaged (or
    /// not a checkpoint), whichever check noticed it.
    pub(crate) fn checkpoint(e: CheckpointError) -> Error {
        use bg_status::*;
        let status = match &e {
            CheckpointError::Io { .. } => BG_IO,
            CheckpointError::NotSafetensors { .. }
            | CheckpointError::NotACheckpoint { .. }
            | CheckpointError::UnsupportedVersion { .. }
            | CheckpointError::Corrupt { .. }
            | CheckpointError::Model { .. }
            | CheckpointError::Compile { .. } => BG_FORMAT,
            // The machine, not the file: no thread pool for the resumed sampler.
            CheckpointError::Runtime { source, .. }
                if matches!(**source, RuntimeError::ThreadPool(_)) =>
            {
                BG_RUNTIME
            }
            CheckpointError::Runtime { .. } => BG_FORMAT,
            // Serialisation, and observers, which samplers made through the C ABI never
            // have attached.
            _ => BG_RUNTIME,
        };
        Error::new(status, e.to_string())
    }
}

thread_local! {
    /// The message of the last failed call on this thread (empty after a success).
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // A name read from a model file may hold a NUL; C would see the message cut there.
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

fn clear_last_error() {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        if !e.as_bytes().is_empty() {
            *e = CString::default();
        }
    });
}

/// Runs the body of an exported function: its error, or a panic caught here, becomes a
/// status code and this thread's last error message; success clears the message.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Error>) -> c_int {
    let status = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            clear_last_error();
            bg_status::BG_OK
        }
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            set_last_error(&format!("internal panic (a blockgibbs bug): {what}"));
            bg_status::BG_PANIC
        }
    };
    status as c_int
}

/// The message of the last failed `bg_*` call on the calling thread, NUL-terminated UTF-8;
/// the empty string if that call succeeded (or none was made). The pointer stays valid until
/// the next `bg_*` call on this thread that returns a status code (the functions that return
/// none, like this one, `bg_last_error_length`, `bg_status_name` and `bg_version`, leave it
/// alone). Never NULL; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn bg_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// The length in bytes of `bg_last_error_message()`, without its terminating NUL.
#[unsafe(no_mangle)]
pub extern "C" fn bg_last_error_length() -> usize {
    LAST_ERROR.with(|e| e.borrow().as_bytes().len())
}

/// The name of a status code (`"BG_LENGTH_MISMATCH"` for `BG_LENGTH_MISMATCH`), or
/// `"BG_UNKNOWN_STATUS"` for a number that is no status. A static string: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn bg_status_name(status: c_int) -> *const c_char {
    let name: &'static std::ffi::CStr = match bg_status::from_code(status) {
        Some(bg_status::BG_OK) => c"BG_OK",
        Some(bg_status::BG_NULL_POINTER) => c"BG_NULL_POINTER",
        Some(bg_status::BG_INVALID_ARGUMENT) => c"BG_INVALID_ARGUMENT",
        Some(bg_status::BG_LENGTH_MISMATCH) => c"BG_LENGTH_MISMATCH",
        Some(bg_status::BG_MODEL) => c"BG_MODEL",
        Some(bg_status::BG_RUNTIME) => c"BG_RUNTIME",
        Some(bg_status::BG_IO) => c"BG_IO",
        Some(bg_status::BG_PANIC) => c"BG_PANIC",
        Some(bg_status::BG_STALE_HANDLE) => c"BG_STALE_HANDLE",
        Some(bg_status::BG_FORMAT) => c"BG_FORMAT",
        None => c"BG_UNKNOWN_STATUS",
    };
    name.as_ptr()
}
