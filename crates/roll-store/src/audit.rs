//! `urne roll audit`: re-verifies the stored history page by page, in constant memory.
//!
//! 1. The change history in `seq` order: each event decodes, has the next `seq`, links to the
//!    recomputed hash of the one before, does not go back in time, and its stored hash and
//!    voter id columns match its bytes.
//! 2. The history per voter, in (voter id, seq) order, merged with the voter rows: each voter's
//!    events count up from 0 and link to the previous one, and the voter's row holds exactly
//!    the record of the last event (`after`: its bytes, or for an addition the commitment to
//!    them), with that event's tip, and each event's `before` is the record the voter's event
//!    before it left. So no row was changed without an event, and no event was dropped.
//! 3. The access log, like 1.
//!
//! The tips it returns are compared with the ones last published in a roll digest.

use urne_roll::access::AccessEvent;
use urne_roll::{ChangeEvent, Snapshot, Tip};

use crate::limits::PAGE_ROWS;
use crate::service::{Roll, voter_tip};
use crate::{EventRow, RollStoreError, VoterRow};

/// What an audit checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditReport {
    /// The change history's tip.
    pub events: Tip,
    /// Voters checked against their histories.
    pub voters: u64,
    /// The access log's tip.
    pub access: Tip,
}

fn corrupt(msg: String) -> RollStoreError {
    RollStoreError::Corrupt(msg)
}

impl Roll {
    /// Verifies the change history, every voter against its history, and the access log.
    pub async fn audit(&self) -> Result<AuditReport, RollStoreError> {
        let events = self.audit_global().await?;
        let voters = self.audit_voters().await?;
        let access = self.audit_access().await?;
        Ok(AuditReport {
            events,
            voters,
            access,
        })
    }

    async fn audit_global(&self) -> Result<Tip, RollStoreError> {
        let mut tip = Tip::default();
        let mut last_at = 0u64;
        let mut after = -1i64;
        loop {
            let page = self.db.events_after(after, PAGE_ROWS).await?;
            for row in &page {
                let ev = ChangeEvent::decode(&row.encoded)
                    .map_err(|e| corrupt(format!("event {}: {e}", row.seq)))?;
                let h = crate::sha256(&row.encoded);
                if ev.seq != tip.len || row.seq as u64 != tip.len {
                    return Err(corrupt(format!(
                        "event at position {} has seq {} (deleted, inserted or reordered)",
                        tip.len, ev.seq
                    )));
                }
                if ev.prev_hash != tip.head {
                    return Err(corrupt(format!(
                        "event {}: prev_hash does not match event {} (edited or replaced)",
                        ev.seq,
                        ev.seq.saturating_sub(1)
                    )));
                }
                if ev.draft.at < last_at {
                    return Err(corrupt(format!(
                        "event {}: earlier than the one before",
                        ev.seq
                    )));
                }
                if h != row.hash
                    || ev.draft.voter_id != row.voter_id
                    || ev.draft.at as i64 != row.at
                {
                    return Err(corrupt(format!(
                        "event {}: columns disagree with its bytes",
                        ev.seq
                    )));
                }
                last_at = ev.draft.at;
                tip = Tip {
                    len: tip.len + 1,
                    head: h,
                };
            }
            match page.last() {
                Some(r) if page.len() as i64 == PAGE_ROWS => after = r.seq,
                _ => return Ok(tip),
            }
        }
    }

    async fn audit_voters(&self) -> Result<u64, RollStoreError> {
        let mut events = EventPager::new(self);
        let mut after = String::new();
        let mut checked = 0u64;
        loop {
            let page = self.db.voters_after(&after, PAGE_ROWS).await?;
            for row in &page {
                // Every event of voters before this one must have been consumed: an event for a
                // voter id with no row is history without a record.
                if let Some(ev) = events.peek().await?
                    && ev.voter_id.as_str() < row.voter_id.as_str()
                {
                    return Err(corrupt(format!(
                        "events for a voter with no record (event {})",
                        ev.seq
                    )));
                }
                check_voter(row, &mut events).await?;
                checked += 1;
            }
            match page.last() {
                Some(r) if page.len() as i64 == PAGE_ROWS => after = r.voter_id.clone(),
                _ => break,
            }
        }
        if let Some(ev) = events.peek().await? {
            return Err(corrupt(format!(
                "events for a voter with no record (event {})",
                ev.seq
            )));
        }
        Ok(checked)
    }

    async fn audit_access(&self) -> Result<Tip, RollStoreError> {
        let mut tip = Tip::default();
        let mut last_at = 0u64;
        let mut after = -1i64;
        loop {
            let page = self.db.access_after(after, PAGE_ROWS).await?;
            for row in &page {
                let ev = AccessEvent::decode(&row.encoded)
                    .map_err(|e| corrupt(format!("access event {}: {e}", row.seq)))?;
                let h = crate::sha256(&row.encoded);
                let ok = ev.seq == tip.len
                    && row.seq as u64 == tip.len
                    && ev.prev_hash == tip.head
                    && ev.at >= last_at
                    && h == row.hash
                    && ev.actor == row.actor
                    && ev.purpose == row.purpose;
                if !ok {
                    return Err(corrupt(format!(
                        "access log broken at position {} (deleted, inserted, reordered or edited)",
                        tip.len
                    )));
                }
                last_at = ev.at;
                tip = Tip {
                    len: tip.len + 1,
                    head: h,
                };
            }
            match page.last() {
                Some(r) if page.len() as i64 == PAGE_ROWS => after = r.seq,
                _ => return Ok(tip),
            }
        }
    }
}

async fn check_voter(row: &VoterRow, events: &mut EventPager<'_>) -> Result<(), RollStoreError> {
    let mut tip = Tip::default();
    let mut after: Option<Snapshot> = None;
    while let Some(e) = events.peek().await? {
        if e.voter_id != row.voter_id {
            break;
        }
        let Some(e) = events.next().await? else {
            break;
        };
        let ev = ChangeEvent::decode(&e.encoded)
            .map_err(|err| corrupt(format!("event {}: {err}", e.seq)))?;
        if ev.voter_seq != tip.len || ev.prev_voter_hash != tip.head {
            return Err(corrupt(format!("event {}: voter history broken", e.seq)));
        }
        // Each change starts from the record the event before left (held by bytes, or by
        // commitment for an addition).
        let continues = match (&after, &ev.draft.before) {
            (None, None) => true,
            (Some(prev), Some(before)) => prev.is(before),
            _ => false,
        };
        if !continues {
            return Err(corrupt(format!(
                "event {}: its record before is not the one the voter's previous event left",
                e.seq
            )));
        }
        after = ev.draft.after;
        // The global pass proved the stored hash is the hash of these bytes.
        tip = Tip {
            len: tip.len + 1,
            head: e.hash,
        };
    }
    let holds_row = after.is_some_and(|a| a.is(&row.sealed));
    if tip != voter_tip(row) || !holds_row {
        return Err(corrupt(format!(
            "voter {} does not match its last event (changed without history)",
            row.voter_id
        )));
    }
    if urne_roll::digest::record_commitment(&row.sealed) != row.commitment {
        return Err(corrupt(
            "a voter row's commitment does not match its record".into(),
        ));
    }
    Ok(())
}

/// Events in (voter id, seq) order, one page at a time.
struct EventPager<'a> {
    roll: &'a Roll,
    page: std::collections::VecDeque<EventRow>,
    after: (String, i64),
    done: bool,
}

impl<'a> EventPager<'a> {
    fn new(roll: &'a Roll) -> Self {
        EventPager {
            roll,
            page: Default::default(),
            after: (String::new(), -1),
            done: false,
        }
    }
    async fn fill(&mut self) -> Result<(), RollStoreError> {
        if self.page.is_empty() && !self.done {
            let rows = self
                .roll
                .db
                .events_by_voter_after((&self.after.0, self.after.1), PAGE_ROWS)
                .await?;
            self.done = (rows.len() as i64) < PAGE_ROWS;
            if let Some(r) = rows.last() {
                self.after = (r.voter_id.clone(), r.seq);
            }
            self.page.extend(rows);
        }
        Ok(())
    }
    async fn peek(&mut self) -> Result<Option<&EventRow>, RollStoreError> {
        self.fill().await?;
        Ok(self.page.front())
    }
    async fn next(&mut self) -> Result<Option<EventRow>, RollStoreError> {
        self.fill().await?;
        Ok(self.page.pop_front())
    }
}
