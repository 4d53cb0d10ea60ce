//! Checks of a `.npy` file's bytes made before npyz reads them, for what npyz trusts: it
//! allocates the header length the preamble announces before reading the header.

/// Why the header length announced by the preamble (a `u16` in version 1, a `u32` in
/// versions 2 and 3) is not there in `bytes`; `None` when it is, or when the preamble
/// cannot be read (npyz reports that).
pub(crate) fn truncated_header(bytes: &[u8]) -> Option<String> {
    let (start, len): (usize, usize) = match *bytes.get(6)? {
        1 => (
            10,
            u16::from_le_bytes([*bytes.get(8)?, *bytes.get(9)?]).into(),
        ),
        _ => (
            12,
            u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize,
        ),
    };
    let available = bytes.len() - start.min(bytes.len());
    (len > available).then(|| {
        format!("the header announces {len} bytes, the file holds {available} after the preamble")
    })
}
