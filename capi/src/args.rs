//! Checked views of C arguments: NULL, misaligned and oversized buffers and non-UTF-8
//! strings become errors naming the argument, never undefined behaviour that Rust could
//! have caught.

use crate::error::Error;
use std::ffi::{CStr, c_char};

fn check_buffer<T>(ptr: *const T, len: usize, arg: &str) -> Result<bool, Error> {
    if ptr.is_null() {
        // An empty buffer may be NULL, as C code often passes it.
        return if len == 0 {
            Ok(false)
        } else {
            Err(Error::null(arg))
        };
    }
    if !ptr.is_aligned() {
        return Err(Error::invalid(format!(
            "argument `{arg}` ({ptr:p}) is not aligned to {} bytes",
            align_of::<T>()
        )));
    }
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Error::invalid(format!(
            "argument `{arg}`: length {len} is larger than any buffer"
        )));
    }
    Ok(true)
}

/// `len` values at `ptr`. The caller promises that, when `ptr` is not NULL, it points to
/// `len` readable values that nothing writes during the call.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, arg: &str) -> Result<&'a [T], Error> {
    if check_buffer(ptr, len, arg)? {
        // SAFETY: non-NULL, aligned and not larger than isize::MAX bytes (checked); valid
        // for `len` reads by the caller's contract.
        Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
    } else {
        Ok(&[])
    }
}

/// `len` writable values at `ptr` (the caller's contract as for [`slice`], for writes).
pub(crate) unsafe fn slice_mut<'a, T>(
    ptr: *mut T,
    len: usize,
    arg: &str,
) -> Result<&'a mut [T], Error> {
    if check_buffer(ptr, len, arg)? {
        // SAFETY: as in `slice`, for writes.
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
    } else {
        Ok(&mut [])
    }
}

/// A NUL-terminated UTF-8 string.
pub(crate) unsafe fn string<'a>(ptr: *const c_char, arg: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::null(arg));
    }
    // SAFETY: non-NULL; NUL-terminated by the caller's contract.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .map_err(|e| Error::invalid(format!("argument `{arg}` is not valid UTF-8: {e}")))
}

/// A place to write one result, checked before the work is done so that a bad pointer
/// fails the call without side effects; written only when the call succeeds.
pub(crate) struct Out<T> {
    ptr: *mut T,
}

impl<T> Out<T> {
    /// Checks `ptr` (argument `arg`).
    pub(crate) fn new(ptr: *mut T, arg: &str) -> Result<Out<T>, Error> {
        if ptr.is_null() {
            return Err(Error::null(arg));
        }
        if !ptr.is_aligned() {
            return Err(Error::invalid(format!(
                "argument `{arg}` ({ptr:p}) is not aligned to {} bytes",
                align_of::<T>()
            )));
        }
        Ok(Out { ptr })
    }

    /// Writes the result. The caller promised a writable `T` at the pointer.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: non-NULL and aligned (checked); writable by the caller's contract.
        unsafe { self.ptr.write(value) }
    }
}
