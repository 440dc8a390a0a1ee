//! OpenElections CSV import: never panics on any bytes, and the reader path and the in-memory
//! path (`import_openelections_csv_bytes`) agree on every input: the same snapshot and
//! warnings, or the same error. A debug build also checks every claim the importer vouches
//! for (`validate::Vouched`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_results::{
    CsvOptions, CsvSource, import_openelections_csv, import_openelections_csv_bytes,
};

fuzz_target!(|data: &[u8]| {
    let options = CsvOptions::new("Fuzzland", "Fuzz Election", "2026-11-03");
    let source = || CsvSource { name: "fuzz.csv".to_owned(), reader: data };
    let read = import_openelections_csv(vec![source()], &options);
    let in_memory = import_openelections_csv_bytes(&[source()], &options);
    match (read, in_memory) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.snapshot, b.snapshot);
            assert_eq!(format!("{:?}", a.warnings), format!("{:?}", b.warnings));
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("the paths disagree: {:?} / {:?}", a.is_ok(), b.is_ok()),
    }
});
