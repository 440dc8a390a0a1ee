//! One import, for profilers that count instructions (`valgrind --tool=callgrind`), which give
//! repeatable numbers on a loaded machine where wall time does not.
//!
//! ```text
//! import_once csv DIR                # every *.csv in DIR, as one OpenElections set (lenient)
//! import_once csv-read DIR           # the same through readers (each file copied first)
//! import_once export-json DIR OUT    # that set exported as NIST SP 1500-100 JSON to OUT
//! import_once json FILE              # a NIST JSON file
//! import_once raw-csv DIR            # baseline: csv ByteRecord scan of the same files
//! import_once floor-parsed-csv DIR   # floor: the counts' fields cut and parsed, none kept
//! import_once floor-written-csv DIR  # floor: those counts written out as VoteCounts
//! import_once kept-csv DIR           # baseline: every row kept as a csv StringRecord
//! import_once kept-bytes-csv DIR     # baseline: every row kept as a csv ByteRecord
//! import_once value-json FILE        # baseline: the JSON file as a serde_json::Value
//! ```
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

#[path = "../benches/support/floor.rs"]
mod floor;

use urne_results::{
    CsvOptions, CsvSource, Imported, NistOptions, export_nist_json, import_nist_json_bytes,
    import_openelections_csv, import_openelections_csv_bytes,
};

fn csv_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read(p).expect("read a file"),
            )
        })
        .collect()
}

fn csv_set(dir: &Path, through_readers: bool) -> Imported {
    let files = csv_files(dir);
    let options = CsvOptions {
        danger_skip_bad_rows: true,
        ..CsvOptions::new("State", "General Election", "2024-11-05")
    };
    let sources: Vec<CsvSource<&[u8]>> = files
        .iter()
        .map(|(name, bytes)| CsvSource {
            name: name.clone(),
            reader: &bytes[..],
        })
        .collect();
    let imported = if through_readers {
        import_openelections_csv(sources, &options)
    } else {
        import_openelections_csv_bytes(&sources, &options)
    };
    imported.unwrap_or_else(|e| panic!("{e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let imported = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["csv", dir] => csv_set(Path::new(dir), false),
        ["csv-read", dir] => csv_set(Path::new(dir), true),
        ["export-json", dir, out] => {
            let mut json = Vec::new();
            export_nist_json(
                &csv_set(Path::new(dir), false).snapshot,
                "2024-11-05T20:00:00Z",
                &mut json,
            )
            .expect("export");
            std::fs::write(out, json).expect("write the JSON file");
            return;
        }
        ["json", file] => {
            let bytes = std::fs::read(file).expect("read the JSON file");
            import_nist_json_bytes(file, &bytes, &NistOptions::default())
                .unwrap_or_else(|e| panic!("{e}"))
        }
        ["raw-csv", dir] => {
            let mut fields = 0;
            let mut record = csv::ByteRecord::new();
            for (_, bytes) in csv_files(Path::new(dir)) {
                let mut r = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(&bytes[..]);
                while r.read_byte_record(&mut record).expect("CSV") {
                    fields += record.len();
                }
            }
            println!("{fields} fields");
            return;
        }
        ["floor-parsed-csv", dir] => {
            let mut sum = 0u64;
            floor::floor_scan(&csv_files(Path::new(dir)), |_, _, v| {
                sum = sum.wrapping_add(v)
            });
            println!("{sum}");
            return;
        }
        ["floor-written-csv", dir] => {
            let counts = floor::floor_counts(&csv_files(Path::new(dir)));
            println!("{} counts", counts.len());
            return;
        }
        ["kept-csv", dir] => {
            let mut rows = Vec::new();
            for (_, bytes) in csv_files(Path::new(dir)) {
                let mut r = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(&bytes[..]);
                for record in r.records() {
                    rows.push(record.expect("CSV"));
                }
            }
            println!("{} rows", rows.len());
            return;
        }
        ["kept-bytes-csv", dir] => {
            let mut rows = Vec::new();
            for (_, bytes) in csv_files(Path::new(dir)) {
                let mut r = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(&bytes[..]);
                for record in r.byte_records() {
                    rows.push(record.expect("CSV"));
                }
            }
            println!("{} rows", rows.len());
            return;
        }
        ["value-json", file] => {
            let bytes = std::fs::read(file).expect("read the JSON file");
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
            println!("{}", v.is_object());
            return;
        }
        _ => {
            eprintln!(
                "usage: import_once csv DIR | csv-read DIR | export-json DIR OUT | json FILE | raw-csv DIR \
                 | floor-parsed-csv DIR | floor-written-csv DIR | kept-csv DIR | kept-bytes-csv DIR | value-json FILE"
            );
            std::process::exit(2);
        }
    };
    let counts: usize = imported
        .snapshot
        .contests
        .iter()
        .map(|c| c.counts.len())
        .sum();
    println!(
        "{} contests, {counts} counts",
        imported.snapshot.contests.len()
    );
}
