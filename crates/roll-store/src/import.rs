//! Imports: rows are parsed, sealed and blind-indexed on worker threads in batches while the
//! previous batch is written, all inside one transaction, so an import commits whole or not at
//! all. An addition's event commits to the voter row's sealed bytes instead of repeating them.
//! Into an empty roll the secondary indexes are dropped and rebuilt at the end, in the same
//! transaction ([`crate::RollTx::begin_bulk_load`]). Any bad row
//! fails the import; reading goes on to report up to [`IMPORT_ROW_ERRORS_MAX`] of them with
//! their line numbers.

use std::collections::HashSet;

use rand_chacha::ChaCha20Rng;
use urne_roll::audit::{AdditionSource, EventDraft, UnixSeconds, link};
use urne_roll::rules::{Action, BulkPolicy, approve_change, authorize};
use urne_roll::{ReasonCode, Snapshot, Tip, VoterRecord, seal_record};

use crate::limits::*;
use crate::service::{Policy, Roll, Session, event_row, voter_row};
use crate::{RollStoreError, VoterRow};

/// A bad input row: where, and what is wrong (a field name and rule, never the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RowError {
    /// 1-based line (or record number for formats without lines).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// Why an import committed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Bad rows (at most [`IMPORT_ROW_ERRORS_MAX`] listed).
    #[error("{} bad row(s), nothing imported; first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Rows(Vec<RowError>),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] RollStoreError),
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records added.
    pub records: u64,
    /// The change history's tip after the import.
    pub tip: Tip,
}

/// Progress reports, called from the writer as batches are committed to the transaction.
pub trait ImportProgress: Send + Sync {
    /// `n` more records were written (not yet committed).
    fn written(&self, n: u64);
}

impl ImportProgress for () {
    fn written(&self, _: u64) {}
}

/// A sealed record ready to write: its line and its voter row (tip filled in by the writer).
type Sealed = (u64, VoterRow);

struct Batch {
    sealed: Vec<Sealed>,
    errors: Vec<RowError>,
}

/// Records sealed with one RNG stream. Fixed, so the nonces a seeded import draws do not
/// depend on the number of worker threads.
const SEAL_CHUNK_RECORDS: usize = 256;

/// A chunk of rows: its position in the batch, the rows, and the RNG that seals them.
type Chunk<'a> = (usize, &'a [(u64, VoterRecord)], ChaCha20Rng);

fn seal_batch(
    rows: Vec<(u64, VoterRecord)>,
    cipher: &urne_roll::FieldCipher,
    keys: &urne_roll::IndexKeys,
    rng: &mut ChaCha20Rng,
    workers: usize,
) -> Batch {
    use rand_core::{RngCore, SeedableRng};
    let workers = workers.max(1);
    let chunks: Vec<Chunk<'_>> = rows
        .chunks(SEAL_CHUNK_RECORDS)
        .enumerate()
        .map(|(i, c)| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            (i, c, ChaCha20Rng::from_seed(seed))
        })
        .collect();
    let mut per_worker: Vec<Vec<Chunk<'_>>> = (0..workers).map(|_| Vec::new()).collect();
    for (n, c) in chunks.into_iter().enumerate() {
        per_worker[n % workers].push(c);
    }
    let mut parts: Vec<(usize, Vec<Result<Sealed, RowError>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = per_worker
            .into_iter()
            .map(|mine| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    for (i, part, mut rng) in mine {
                        let sealed: Vec<Result<Sealed, RowError>> = part
                            .iter()
                            .map(|(line, r)| {
                                seal_record(r, cipher, keys, &mut rng)
                                    .map(|(s, ix)| (*line, voter_row(&s, &ix, Tip::default())))
                                    .map_err(|e| RowError {
                                        line: *line,
                                        message: e.to_string(),
                                    })
                            })
                            .collect();
                        out.push((i, sealed));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    parts.sort_by_key(|p| p.0);
    let mut out = Batch {
        sealed: Vec::with_capacity(rows.len()),
        errors: Vec::new(),
    };
    for r in parts.into_iter().flat_map(|p| p.1) {
        match r {
            Ok(x) => out.sealed.push(x),
            Err(e) => out.errors.push(e),
        }
    }
    out
}

impl Roll {
    /// Imports new registrations from `rows` (line number, record, or a row error) as additions
    /// from `source` by the staff member `by`. Nothing is committed unless every row is good,
    /// no voter id is already on the roll or repeated, and the role matrix and bulk rule allow
    /// it: up to the policy's bulk threshold a clerk may import (`Edit`); above it the importer
    /// must be a supervisor and `approver` a second, different supervisor, recorded in every
    /// event (checked before reading and again on the final count).
    pub async fn import<I>(
        &self,
        by: &Session,
        approver: Option<&Session>,
        source: AdditionSource,
        rows: I,
        progress: &dyn ImportProgress,
        now: UnixSeconds,
    ) -> Result<ImportSummary, ImportError>
    where
        I: Iterator<Item = Result<(u64, VoterRecord), RowError>> + Send + 'static,
    {
        let policy = self.policy().await?;
        authorize(&by.staff, Action::Edit).map_err(RollStoreError::from)?;
        if let Some(a) = approver {
            // Fail before reading a large file, not after.
            let bulk = BulkPolicy {
                records_without_approver_max: 0,
            };
            approve_change(bulk, 1, &by.staff, Some(&a.staff)).map_err(RollStoreError::from)?;
        }
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut rng = self.fork_rng();
        let (tx_batches, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
        let (cipher, keys) = (self.cipher.clone(), self.keys.clone());
        let reader = tokio::task::spawn_blocking(move || {
            let mut rows = rows;
            let mut pending = Vec::with_capacity(IMPORT_BATCH_RECORDS);
            let mut errors = Vec::new();
            let mut count = 0u64;
            loop {
                let next = rows.next();
                let end = next.is_none();
                match next {
                    Some(Ok(r)) => {
                        count += 1;
                        if count > IMPORT_RECORDS_MAX {
                            errors.push(RowError {
                                line: r.0,
                                message: format!("more than {IMPORT_RECORDS_MAX} records"),
                            });
                        } else {
                            pending.push(r);
                        }
                    }
                    Some(Err(e)) => errors.push(e),
                    None => {}
                }
                if pending.len() >= IMPORT_BATCH_RECORDS || end || !errors.is_empty() {
                    let mut b = seal_batch(
                        std::mem::take(&mut pending),
                        &cipher,
                        &keys,
                        &mut rng,
                        workers,
                    );
                    b.errors.append(&mut errors);
                    let stop = count > IMPORT_RECORDS_MAX;
                    if tx_batches.blocking_send(b).is_err() || end || stop {
                        return;
                    }
                }
            }
        });
        // The first load of an empty roll may switch journals for its one transaction.
        let journal = self.db.bulk_journal(true).await?;
        let result = self
            .write_import(by, approver, &policy, source, &mut rx, progress, now)
            .await;
        drop(rx);
        let _ = reader.await;
        if journal {
            // After the transaction ended (committed or rolled back); a crash before this
            // leaves the file in the rollback journal, which the next open switches back.
            let back = self.db.bulk_journal(false).await;
            if result.is_ok() {
                back?;
            }
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_import(
        &self,
        by: &Session,
        approver: Option<&Session>,
        policy: &Policy,
        source: AdditionSource,
        rx: &mut tokio::sync::mpsc::Receiver<Batch>,
        progress: &dyn ImportProgress,
        now: UnixSeconds,
    ) -> Result<ImportSummary, ImportError> {
        let mut tx = self.db.begin().await?;
        let now = crate::service::event_time(&mut *tx, now).await?;
        let mut global = tx.event_tip().await?;
        // An empty roll is loaded without its secondary indexes, built once at the end.
        let bulk = tx.begin_bulk_load().await?;
        let mut errors: Vec<RowError> = Vec::new();
        let mut records = 0u64;
        while let Some(batch) = rx.recv().await {
            errors.extend(batch.errors);
            if errors.len() >= IMPORT_ROW_ERRORS_MAX {
                break;
            }
            let ids: Vec<String> = batch
                .sealed
                .iter()
                .map(|(_, v)| v.voter_id.clone())
                .collect();
            let existing: HashSet<String> = tx.existing(&ids).await?.into_iter().collect();
            let mut seen = HashSet::with_capacity(ids.len());
            let mut voters: Vec<VoterRow> = Vec::with_capacity(ids.len());
            let mut events = Vec::with_capacity(ids.len());
            for ((line, mut row), id) in batch.sealed.into_iter().zip(&ids) {
                if existing.contains(id) || !seen.insert(id.as_str()) {
                    errors.push(RowError {
                        line,
                        message: "voter_id: already on the roll or earlier in this import".into(),
                    });
                    continue;
                }
                // The event commits to the row's sealed bytes rather than repeating them.
                let draft = EventDraft {
                    voter_id: id.clone(),
                    actor: by.id().to_owned(),
                    approver: approver.map(|a| a.id().to_owned()),
                    at: now,
                    reason: ReasonCode::Add(source),
                    before: None,
                    after: Some(Snapshot::Committed(row.commitment)),
                };
                let ev = link(draft, global, Tip::default()).map_err(RollStoreError::from)?;
                let (erow, tip) = event_row(&ev);
                global = tip;
                row.voter_len = 1;
                row.voter_head = tip.head;
                voters.push(row);
                events.push(erow);
            }
            if errors.is_empty() {
                tx.insert_voters(&voters).await?;
                tx.insert_events(&events).await?;
                records += voters.len() as u64;
                progress.written(voters.len() as u64);
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            errors.truncate(IMPORT_ROW_ERRORS_MAX);
            // Dropping `tx` rolls back everything written so far.
            return Err(ImportError::Rows(errors));
        }
        // The bulk rule on the final count: above the threshold, a second supervisor.
        approve_change(policy.bulk, records, &by.staff, approver.map(|a| &a.staff))
            .map_err(RollStoreError::from)?;
        if bulk {
            tx.end_bulk_load().await?;
        }
        tx.commit().await?;
        Ok(ImportSummary {
            records,
            tip: global,
        })
    }
}
