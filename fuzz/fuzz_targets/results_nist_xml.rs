//! NIST SP 1500-100 XML import: never panics on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_results::{NistOptions, import_nist_xml_bytes};

fuzz_target!(|data: &[u8]| {
    let _ = import_nist_xml_bytes("fuzz.xml", data, &NistOptions::default());
});
