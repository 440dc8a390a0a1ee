//! Clarity ENR `detail.xml` import: never panics on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_results::{ClarityOptions, import_clarity_xml};

fuzz_target!(|data: &[u8]| {
    let _ = import_clarity_xml("fuzz.xml", data, &ClarityOptions::default());
});
