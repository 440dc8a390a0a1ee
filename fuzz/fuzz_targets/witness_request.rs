//! tlog-witness `add-checkpoint` request bodies: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_witness::AddCheckpoint;

fuzz_target!(|data: &[u8]| {
    let _ = AddCheckpoint::parse(data);
});
