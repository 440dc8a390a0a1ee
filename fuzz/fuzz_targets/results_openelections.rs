//! OpenElections CSV import: never panics on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_results::{CsvOptions, CsvSource, import_openelections_csv};

fuzz_target!(|data: &[u8]| {
    let options = CsvOptions::new("Fuzzland", "Fuzz Election", "2026-11-03");
    let sources = vec![CsvSource { name: "fuzz.csv".to_owned(), reader: data }];
    let _ = import_openelections_csv(sources, &options);
});
