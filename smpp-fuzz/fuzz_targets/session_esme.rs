#![cfg_attr(fuzzing, no_main)]
#[cfg(not(fuzzing))]
fn main() {}
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| smpp_fuzz::session_esme(data));
