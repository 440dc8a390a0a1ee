//! NIST SP 1500-100 JSON import: never panics; whatever imports exports and re-imports to the
//! same canonical bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_results::{NistOptions, canonical, export_nist_json, import_nist_json_bytes};

fuzz_target!(|data: &[u8]| {
    let options = NistOptions::default();
    let Ok(imported) = import_nist_json_bytes("fuzz.json", data, &options) else {
        return;
    };
    let mut out = Vec::new();
    export_nist_json(&imported.snapshot, "2026-01-01T00:00:00Z", &mut out).unwrap();
    let again = import_nist_json_bytes("export.json", &out, &options).unwrap();
    assert_eq!(canonical::encode(&imported.snapshot), canonical::encode(&again.snapshot));
});
