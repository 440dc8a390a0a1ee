//! The log's side of c2sp.org/tlog-witness: after sequencing, ask the trust policy's witnesses
//! to cosign the new checkpoint, and assemble the public checkpoint with their cosignatures.
//!
//! [`Cosigner::cosign`] sends every witness with a submission URL one `add-checkpoint` request
//! at once, each with a consistency proof from the size that witness last cosigned (remembered
//! here; 0 at first). A `409` with `text/x.tlog.size` tells the witness's real size: the
//! request is retried from there, at most [`CONFLICT_RETRIES_MAX`] times. Each request is bounded
//! by [`WITNESS_REQUEST_TIME_MAX`], so a slow or dead witness delays only its own cosignature,
//! never sequencing (call this from a background task) or the other witnesses.
//!
//! Every cosignature received is verified against the policy's key for that witness before it
//! is added; [`CosignReport::quorum_met`] says whether the policy's quorum (C2SP tlog-policy
//! groups) is met. Until it is, the checkpoint is "awaiting witnesses".

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use urne_tlog::cosignature::CosignatureVerifier;
use urne_tlog::note::{Note, NoteVerifier as _, Signature};
use urne_tlog::policy::Policy;
use urne_tlog::{Checkpoint, Hash};

use crate::request::AddCheckpoint;

/// Time for one `add-checkpoint` request, connect to last byte.
pub const WITNESS_REQUEST_TIME_MAX: Duration = Duration::from_secs(5);
/// Retries after a `409 Conflict` that names another size.
pub const CONFLICT_RETRIES_MAX: usize = 2;
/// Bytes read from a witness's answer.
pub const RESPONSE_BYTES_MAX: u64 = 16 * 1024;

/// Where the log's consistency proofs come from (its own tiles).
#[async_trait]
pub trait ProofSource: Send + Sync {
    /// RFC 9162 consistency proof from tree size `old` to `new` (`new` is the checkpoint's).
    async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String>;
}

/// One witness of the policy that has a submission URL.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The policy's name for it.
    pub name: String,
    /// Submission prefix; requests go to `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosignature key.
    pub verifier: CosignatureVerifier,
}

/// What one witness answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A valid cosignature, with its timestamp.
    Cosigned(u64),
    /// The witness refused: status and (the start of) its answer.
    Refused {
        /// HTTP status.
        status: u16,
        /// The answer's text, cut to [`RESPONSE_BYTES_MAX`].
        body: String,
    },
    /// No answer in time, or the connection failed.
    Unreachable(String),
    /// It answered 200 with something that is not its valid cosignature.
    BadCosignature(String),
    /// Our own proof source failed.
    NoProof(String),
}

/// The result of one round.
#[derive(Clone, Debug)]
pub struct CosignReport {
    /// The checkpoint note with the log's signature and every valid cosignature.
    pub note: Note,
    /// Per witness (policy name), what happened.
    pub outcomes: Vec<(String, Outcome)>,
    /// Whether the cosigners meet the policy's quorum.
    pub quorum_met: bool,
}

impl CosignReport {
    /// Names of the witnesses that cosigned.
    pub fn cosigners(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Cosigned(_)))
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// Requests cosignatures from a policy's witnesses; remembers each witness's size.
#[derive(Debug)]
pub struct Cosigner {
    policy: Policy,
    endpoints: Vec<Endpoint>,
    agent: ureq::Agent,
    known: Mutex<HashMap<String, u64>>,
}

impl Cosigner {
    /// A cosigner for the witnesses of `policy` that have a URL, with the default timeout.
    pub fn new(policy: &Policy) -> Cosigner {
        Cosigner::with_timeout(policy, WITNESS_REQUEST_TIME_MAX)
    }

    /// Same, with another per-request timeout (tests, benches).
    pub fn with_timeout(policy: &Policy, timeout: Duration) -> Cosigner {
        let endpoints = policy
            .witnesses
            .iter()
            .filter_map(|w| {
                Some(Endpoint {
                    name: w.name.clone(),
                    url: w.url.clone()?,
                    verifier: w.verifier.clone(),
                })
            })
            .collect();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Cosigner {
            policy: policy.clone(),
            endpoints,
            agent,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The witnesses that will be asked.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Asks every witness to cosign `note` (signed by the log; its other signatures are
    /// dropped from the requests) and returns the note with the valid cosignatures.
    pub async fn cosign(&self, note: &Note, proofs: &dyn ProofSource) -> CosignReport {
        let Ok(cp) = Checkpoint::parse(note.text()) else {
            let outcomes = self
                .endpoints
                .iter()
                .map(|e| (e.name.clone(), Outcome::NoProof("not a checkpoint".into())))
                .collect();
            return CosignReport {
                note: note.clone(),
                outcomes,
                quorum_met: false,
            };
        };
        let asks = self
            .endpoints
            .iter()
            .map(|e| self.ask(e, note, &cp, proofs));
        let answers = futures_util::future::join_all(asks).await;
        let mut out = note.clone();
        let mut outcomes = Vec::new();
        for (endpoint, answer) in self.endpoints.iter().zip(answers) {
            let outcome = match answer {
                Ok((signature, timestamp)) => match out.add_signature(signature) {
                    Ok(()) => Outcome::Cosigned(timestamp),
                    Err(e) => Outcome::BadCosignature(e.to_string()),
                },
                Err(o) => o,
            };
            outcomes.push((endpoint.name.clone(), outcome));
        }
        let names: Vec<&str> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Cosigned(_)))
            .map(|(n, _)| n.as_str())
            .collect();
        let quorum_met = self.policy.quorum_met(&names);
        CosignReport {
            note: out,
            outcomes,
            quorum_met,
        }
    }

    /// One witness: request, follow 409s, verify the cosignature.
    async fn ask(
        &self,
        endpoint: &Endpoint,
        note: &Note,
        cp: &Checkpoint,
        proofs: &dyn ProofSource,
    ) -> Result<(Signature, u64), Outcome> {
        // Only the log's signatures go to the witness (tlog-witness: it ignores others, but
        // a smaller request is a faster one).
        let mut request_note =
            Note::new(note.text()).map_err(|e| Outcome::NoProof(e.to_string()))?;
        for s in note.signatures() {
            if s.name == cp.origin {
                let _ = request_note.add_signature(s.clone());
            }
        }
        let mut old = self.known_size(&endpoint.name).min(cp.size);
        for _ in 0..=CONFLICT_RETRIES_MAX {
            let proof = if old == 0 || old == cp.size {
                Vec::new()
            } else {
                proofs
                    .consistency_proof(old, cp.size)
                    .await
                    .map_err(Outcome::NoProof)?
            };
            let body = AddCheckpoint::body(old, &proof, &request_note);
            let (status, text) = self.post(&endpoint.url, body).await?;
            match status {
                200 => {
                    let (sig, ts) = parse_cosignature(endpoint, note, cp, &text)?;
                    self.remember(&endpoint.name, cp.size);
                    return Ok((sig, ts));
                }
                409 => {
                    // tlog-witness: the body is the witness's latest cosigned size.
                    let size = text.trim().parse::<u64>().ok();
                    match size {
                        Some(s) if s <= cp.size && s != old => {
                            self.remember(&endpoint.name, s);
                            old = s;
                        }
                        _ => return Err(Outcome::Refused { status, body: text }),
                    }
                }
                _ => return Err(Outcome::Refused { status, body: text }),
            }
        }
        Err(Outcome::Refused {
            status: 409,
            body: format!("still conflicting after {CONFLICT_RETRIES_MAX} retries"),
        })
    }

    async fn post(&self, prefix: &str, body: String) -> Result<(u16, String), Outcome> {
        let url = format!("{}/add-checkpoint", prefix.trim_end_matches('/'));
        let agent = self.agent.clone();
        let call = tokio::task::spawn_blocking(move || -> Result<(u16, String), String> {
            let mut response = agent
                .post(&url)
                .header("Content-Type", "text/plain; charset=utf-8")
                .send(body.as_bytes())
                .map_err(|e| format!("{url}: {e}"))?;
            let status = response.status().as_u16();
            let text = response
                .body_mut()
                .with_config()
                .limit(RESPONSE_BYTES_MAX)
                .read_to_string()
                .unwrap_or_default();
            Ok((status, text))
        });
        // The agent's own timeout bounds the call; this one bounds the blocking pool's queue.
        match tokio::time::timeout(WITNESS_REQUEST_TIME_MAX * 2, call).await {
            Ok(Ok(Ok(answer))) => Ok(answer),
            Ok(Ok(Err(e))) => Err(Outcome::Unreachable(e)),
            Ok(Err(e)) => Err(Outcome::Unreachable(e.to_string())),
            Err(_) => Err(Outcome::Unreachable("timed out".into())),
        }
    }

    fn known_size(&self, name: &str) -> u64 {
        self.known
            .lock()
            .map(|k| k.get(name).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn remember(&self, name: &str, size: u64) {
        if let Ok(mut k) = self.known.lock() {
            k.insert(name.to_string(), size);
        }
    }
}

/// A 200 answer: cosignature lines; the one by this witness's key must verify.
fn parse_cosignature(
    endpoint: &Endpoint,
    note: &Note,
    cp: &Checkpoint,
    text: &str,
) -> Result<(Signature, u64), Outcome> {
    let bad = |why: String| Outcome::BadCosignature(why);
    // The answer is signature lines; parse them as the signature block of this note.
    let joined = format!("{}\n{}", note.text(), text);
    let parsed = Note::parse(joined.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let v = &endpoint.verifier;
    let sig = parsed
        .signatures()
        .iter()
        .find(|s| s.name == v.name() && s.key_id == v.key_id())
        .ok_or_else(|| bad("no cosignature by the policy's key for this witness".into()))?;
    let checked = v.verify(&cp.body(), sig).map_err(|e| bad(e.to_string()))?;
    Ok((sig.clone(), checked.timestamp()))
}
