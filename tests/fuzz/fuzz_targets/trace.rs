//! The trace reader (report, timeline) on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cadence::report::read_trace(data);
});
