//! tlog-policy files: parse and quorum evaluation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_tlog::policy::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Policy::parse(text) {
        let names: Vec<&str> = p.witnesses.iter().map(|w| w.name.as_str()).collect();
        let _ = p.quorum_met(&names);
        let _ = p.quorum_met(&[]);
    }
});
