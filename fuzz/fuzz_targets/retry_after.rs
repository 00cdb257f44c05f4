//! libFuzzer's input to `rein_fuzz::targets::retry_after::run` (see crates/rein-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rein_fuzz::targets::retry_after::run(data));
