//! Election results: the snapshot model, validation and exact aggregation, the canonical
//! encoding that gets hashed and signed, importers and exporters.
//!
//! Formats: NIST SP 1500-100 v2 JSON and XML (in and out), OpenElections-style CSV (in),
//! Clarity ENR `detail.xml` (in), flat and summary CSV (out). Every importer returns an
//! [`Imported`] (a [`ValidSnapshot`] plus [`Warning`]s) or an [`ImportError`] naming the source,
//! the place (CSV line, JSON path, XML element) and what is wrong; never a partial snapshot.
//!
//! Invariant: this crate does no I/O of its own: no files, network, environment or clock.
//! Importers take a reader (or bytes) and a source name for messages, exporters a writer.
#![forbid(unsafe_code)]

pub mod canonical;
mod clarity;
mod csv_records;
pub mod diff;
mod error;
mod export;
pub mod model;
mod nist;
mod nist_json;
mod nist_xml;
mod openelections;
mod validate;
mod xml;

pub use clarity::{ClarityOptions, REGION_UNIT_ID, import_clarity_xml};
pub use error::{
    ImportError, Location, PROBLEMS_LISTED_MAX, Problem, ProblemKind, Warning, WarningKind,
};
pub use export::{FLAT_CSV_HEADER, SUMMARY_CSV_HEADER, export_flat_csv, export_summary_csv};
pub use model::*;
pub use nist::NistOptions;
pub use nist_json::{export_nist_json, import_nist_json, import_nist_json_bytes};
pub use nist_xml::{NIST_ERR_NAMESPACE, export_nist_xml, import_nist_xml, import_nist_xml_bytes};
pub use openelections::{
    CsvOptions, CsvSource, import_openelections_csv, import_openelections_csv_bytes,
};
pub use validate::{
    ContestTotals, Imported, IndexTotals, Limits, SnapshotTotals, Totals, UNIT_DEPTH_MAX,
    ValidSnapshot, unit_totals, validate,
};
pub use xml::XML_DEPTH_MAX;
