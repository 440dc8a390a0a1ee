//! RCTab contest configs: parsing never panics on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = urne_tally_io::config::parse(std::path::Path::new("fuzz_config.json"), text);
    }
});
