//! Fuzzes `blockgibbs::fuzzing::checkpoint` (see FUZZING.md): any input loads or is refused with
//! an error, never a panic, abort, oversized allocation or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // An error is a correct answer to a malformed input; only panics and aborts are findings.
    let _ = blockgibbs::fuzzing::checkpoint(data);
});
