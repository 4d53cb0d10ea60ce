//! Opaque handles and the registry that makes stale ones harmless.
//!
//! A handle is not a pointer to the object: it is a number, shaped like a pointer, that
//! keys a global registry of live objects; it is never dereferenced. Numbers are never
//! reused, so a freed handle (a double free included), a handle of another type and any
//! pointer this library did not return are all found missing from the registry and
//! reported as `BG_STALE_HANDLE`, instead of being undefined behaviour.
//!
//! Each object sits behind its own mutex: calls on one handle from several threads are
//! serialised, calls on different handles run in parallel. A call holds its own reference
//! to the object, so freeing a handle while another thread uses it is safe too (the object
//! goes when that call ends). Calls that lock two objects lock the sampler first.

use crate::error::{Error, bg_status};
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// An object that C holds by handle.
pub(crate) trait Handle: Send + 'static {
    /// The opaque C type of its handles.
    type Opaque;
    /// The C type's name, for messages.
    const NAME: &'static str;
}

struct Entry {
    kind: &'static str,
    object: Arc<dyn Any + Send + Sync>,
}

static REGISTRY: Mutex<BTreeMap<usize, Entry>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
/// Handles are ids times this, so that they look like (and print like) aligned pointers.
const STRIDE: usize = 16;

fn registry() -> MutexGuard<'static, BTreeMap<usize, Entry>> {
    // No code panics while holding the registry lock, but a poisoned lock would only mean
    // a panic elsewhere in that thread: the map itself is consistent.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers `object` and returns its new handle.
pub(crate) fn register<T: Handle>(object: T) -> Result<*mut T::Opaque, Error> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let key = id
        .checked_mul(STRIDE)
        .ok_or_else(|| Error::invalid("handle numbers are exhausted"))?;
    let object: Arc<Mutex<T>> = Arc::new(Mutex::new(object));
    registry().insert(
        key,
        Entry {
            kind: T::NAME,
            object,
        },
    );
    Ok(key as *mut T::Opaque)
}

fn stale<T: Handle>(arg: &str, key: usize, kind: Option<&'static str>) -> Error {
    let why = match kind {
        Some(other) => format!("it is a {other} handle, not a {}", T::NAME),
        None => "it was freed already, or was never returned by blockgibbs".to_string(),
    };
    Error::new(
        bg_status::BG_STALE_HANDLE,
        format!(
            "argument `{arg}` ({key:#x}) is not a live {} handle: {why}",
            T::NAME
        ),
    )
}

/// The live object behind `handle` (argument `arg`, for messages).
pub(crate) fn get<T: Handle>(handle: *const T::Opaque, arg: &str) -> Result<Arc<Mutex<T>>, Error> {
    if handle.is_null() {
        return Err(Error::null(arg));
    }
    let key = handle as usize;
    let registry = registry();
    let entry = registry
        .get(&key)
        .ok_or_else(|| stale::<T>(arg, key, None))?;
    entry
        .object
        .clone()
        .downcast::<Mutex<T>>()
        .map_err(|_| stale::<T>(arg, key, Some(entry.kind)))
}

/// Locks an object for the length of a call. A lock poisoned by a panic in an earlier call
/// means the object may be half-updated: it is refused from then on.
pub(crate) fn lock<'a, T: Handle>(
    object: &'a Mutex<T>,
    arg: &str,
) -> Result<MutexGuard<'a, T>, Error> {
    object.lock().map_err(|_| {
        Error::new(
            bg_status::BG_PANIC,
            format!(
                "argument `{arg}`: this {} was in use when an internal panic happened and \
                 may be inconsistent; free it",
                T::NAME
            ),
        )
    })
}

/// Frees the object behind `handle`: NULL is a no-op, a handle that is not live (freed
/// already, or of another type) is an error and nothing is freed.
pub(crate) fn free<T: Handle>(handle: *mut T::Opaque, arg: &str) -> Result<(), Error> {
    if handle.is_null() {
        return Ok(());
    }
    let key = handle as usize;
    let entry = {
        let mut registry = registry();
        match registry.get(&key) {
            None => return Err(stale::<T>(arg, key, None)),
            Some(e) if e.kind != T::NAME => return Err(stale::<T>(arg, key, Some(e.kind))),
            Some(_) => registry.remove(&key),
        }
    };
    // Dropped outside the registry lock: a sampler's drop joins nothing but may take a
    // while, and other threads' calls need not wait for it.
    drop(entry);
    Ok(())
}

/// Number of live handles of every type (for tests of leaks).
pub(crate) fn live_count() -> usize {
    registry().len()
}
