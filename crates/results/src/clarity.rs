//! Clarity ENR `detail.xml` (placeholder until the importer lands).
