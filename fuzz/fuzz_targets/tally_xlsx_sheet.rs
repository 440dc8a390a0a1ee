//! ES&S worksheet XML (the byte-level scanner of `urne_tally_io::xlsx`): any bytes are
//! scanned or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let strings = vec!["Alice".to_string(), "Bob".to_string()];
    let _ = urne_tally_io::xlsx::scan_sheet_xml(data, &strings, |_, _| {});
});
