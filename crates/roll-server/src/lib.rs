//! The voter roll over HTTP, and the `urne roll` commands as library functions.
//!
//! [`router`] serves, under `/roll/v1`:
//! - `POST /lookup` (public): JSON `{"last","first","dob","zip"}` → the fixed-size answer of
//!   `urne_roll::LookupAnswer::to_json` (status, precinct, polling place; never an address or
//!   id), the same shape and length found or not, no sooner than [`Config::lookup_floor`] after
//!   the request arrived, rate limited per client IP, body at most [`LOOKUP_BODY_BYTES_MAX`].
//! - `POST /login` (public, rate limited): `{"id","password"}` → `{"token"}`.
//! - Staff, with `Authorization: Bearer <token>`: `GET /voters/{id}` (header `x-urne-purpose`
//!   says why; recorded), `POST /voters` (add), `PUT /voters/{id}` (edit), `POST /changes`
//!   (status changes; 202 when they wait for a second supervisor), `POST /changes/{id}/approve`,
//!   `POST /staff` (admin), `GET /digest?start=&end=`.
//!
//! Invariant: no response, error or log line carries a sealed field except `GET /voters/{id}`
//! to a role that may read PII.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod commands;
pub mod floor;
pub mod format;
pub mod vri;
pub mod xml;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::PeerIpKeyExtractor;
use urne_roll::audit::UpdateReason;
use urne_roll::lookup::LookupQuery;
use urne_roll_store::{Applied, Roll, RollStoreError, Session, StatusChange};

/// Bytes in a lookup request body.
pub const LOOKUP_BODY_BYTES_MAX: usize = 1024;
/// Bytes in a login request body.
pub const LOGIN_BODY_BYTES_MAX: usize = 2048;
/// Bytes in a staff request body (a change set of up to 100,000 lines fits).
pub const STAFF_BODY_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Server settings for the roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Every lookup answers no sooner than this after it arrived, found or not.
    pub lookup_floor: Duration,
    /// Sustained public requests per second per client IP.
    pub per_client_per_second: u32,
    /// Burst of public requests per client IP.
    pub per_client_burst: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lookup_floor: Duration::from_millis(1),
            per_client_per_second: 2,
            per_client_burst: 10,
        }
    }
}

#[derive(Clone)]
struct AppState {
    roll: Roll,
    config: Config,
    /// Sub-millisecond waits for the lookup floor (tokio's timer rounds up to the next ms).
    deadlines: floor::Deadlines,
}

/// An API error: the status and a plain message. The cause is logged, never PII.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl From<RollStoreError> for ApiError {
    fn from(e: RollStoreError) -> Self {
        let status = match &e {
            RollStoreError::Refused(_) => StatusCode::FORBIDDEN,
            RollStoreError::Credentials => StatusCode::UNAUTHORIZED,
            RollStoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            RollStoreError::NotFound(_) => StatusCode::NOT_FOUND,
            RollStoreError::Exists(_) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "roll request failed");
            return ApiError(status, "internal error".into());
        }
        ApiError(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.1,
        )
            .into_response()
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The roll's router. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`:
/// the per-client rate limit keys on the peer address.
pub fn router(roll: Roll, config: Config) -> Router {
    let state = AppState {
        roll,
        config,
        deadlines: floor::Deadlines::start(),
    };
    let governor = GovernorConfigBuilder::default()
        .per_millisecond(u64::from(1000 / config.per_client_per_second.max(1)).max(1))
        .burst_size(config.per_client_burst.max(1))
        .key_extractor(PeerIpKeyExtractor)
        .finish()
        .map(Arc::new);
    let public = Router::new()
        .route(
            "/roll/v1/lookup",
            post(lookup).layer(DefaultBodyLimit::max(LOOKUP_BODY_BYTES_MAX)),
        )
        .route(
            "/roll/v1/login",
            post(login).layer(DefaultBodyLimit::max(LOGIN_BODY_BYTES_MAX)),
        );
    let public = match governor {
        Some(g) => public.layer(GovernorLayer::new(g)),
        None => public,
    };
    let staff = Router::new()
        .route("/roll/v1/voters", post(add_voter))
        .route("/roll/v1/voters/{id}", get(read_voter).put(edit_voter))
        .route("/roll/v1/changes", post(submit_changes))
        .route("/roll/v1/changes/{id}/approve", post(approve))
        .route("/roll/v1/staff", post(add_staff))
        .route("/roll/v1/digest", get(digest))
        .layer(DefaultBodyLimit::max(STAFF_BODY_BYTES_MAX));
    public.merge(staff).with_state(state)
}

/// Serves `router` on `listener` with peer addresses (for rate limiting) until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
) -> Result<(), std::io::Error> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

#[derive(Deserialize)]
struct LookupBody {
    last: String,
    first: String,
    dob: String,
    zip: String,
}

async fn lookup(
    State(st): State<AppState>,
    body: Result<Json<LookupBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let started = Instant::now();
    let result = match body {
        Ok(Json(b)) => match LookupQuery::new(&b.last, &b.first, &b.dob, &b.zip) {
            Ok(q) => st.roll.lookup(&q).await.map_err(ApiError::from),
            Err(e) => Err(bad(e.to_string())),
        },
        Err(rejection) => Err(ApiError(
            rejection.status(),
            format!(
                "expected JSON {{\"last\",\"first\",\"dob\",\"zip\"}} of at most {LOOKUP_BODY_BYTES_MAX} bytes"
            ),
        )),
    };
    // The floor hides the difference between found (a record opened) and not found.
    st.deadlines
        .wait_until(started + st.config.lookup_floor)
        .await;
    match result {
        Ok(answer) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            answer.to_json(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct LoginBody {
    id: String,
    password: String,
}

async fn login(State(st): State<AppState>, Json(b): Json<LoginBody>) -> Result<Response, ApiError> {
    let s = st.roll.login(&b.id, &b.password).await?;
    let token = st.roll.mint_token(&s, now()).await?;
    let body = serde_json::json!({ "token": token.danger_secret(), "role": s.role().name() });
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

async fn session(st: &AppState, headers: &HeaderMap) -> Result<Session, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError(StatusCode::UNAUTHORIZED, "bearer token required".into()))?;
    Ok(st.roll.session_for_token(token.trim()).await?)
}

async fn read_voter(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = session(&st, &headers).await?;
    let purpose = headers
        .get("x-urne-purpose")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let v = st.roll.read_voter(&s, &id, purpose, now()).await?;
    let body = format::view_to_json(&v);
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

#[derive(Deserialize)]
struct AddBody {
    source: String,
    record: serde_json::Value,
}

async fn add_voter(
    State(st): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<AddBody>,
) -> Result<Response, ApiError> {
    let s = session(&st, &headers).await?;
    let record = format::record_from_json(&b.record, "$.record").map_err(bad)?;
    let source = format::addition_source(&b.source).ok_or_else(|| bad("unknown source"))?;
    st.roll.add_voter(&s, &record, source, now()).await?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Deserialize)]
struct EditBody {
    reason: String,
    record: serde_json::Value,
}

async fn edit_voter(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<EditBody>,
) -> Result<Response, ApiError> {
    let s = session(&st, &headers).await?;
    let record = format::record_from_json(&b.record, "$.record").map_err(bad)?;
    if record.voter_id != id {
        return Err(bad("$.record.VoterId does not match the path"));
    }
    let reason: UpdateReason =
        format::update_reason(&b.reason).ok_or_else(|| bad("unknown reason"))?;
    st.roll.update_voter(&s, &record, reason, now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct ChangeLine {
    voter_id: String,
    action: String,
    reason: Option<String>,
}

async fn submit_changes(
    State(st): State<AppState>,
    headers: HeaderMap,
    Json(lines): Json<Vec<ChangeLine>>,
) -> Result<Response, ApiError> {
    let s = session(&st, &headers).await?;
    let mut changes = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        changes.push(
            StatusChange::parse(&l.voter_id, &l.action, l.reason.as_deref())
                .map_err(|e| bad(format!("$[{i}]: {e}")))?,
        );
    }
    Ok(match st.roll.submit_changes(&s, &changes, now()).await? {
        Applied::Done { records } => (
            StatusCode::OK,
            Json(serde_json::json!({ "applied": records })),
        )
            .into_response(),
        Applied::Pending { id, records } => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "pending": id, "records": records })),
        )
            .into_response(),
    })
}

async fn approve(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let s = session(&st, &headers).await?;
    let done = st.roll.approve(&s, id, now()).await?;
    Ok(
        Json(serde_json::json!({ "applied": done.records, "approver": done.approver }))
            .into_response(),
    )
}

#[derive(Deserialize)]
struct StaffBody {
    id: String,
    role: String,
    password: String,
}

async fn add_staff(
    State(st): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<StaffBody>,
) -> Result<Response, ApiError> {
    let s = session(&st, &headers).await?;
    let role = urne_roll::Role::ALL
        .into_iter()
        .find(|r| r.name() == b.role)
        .ok_or_else(|| bad("unknown role"))?;
    st.roll
        .add_staff(&s, &b.id, role, &b.password, now())
        .await?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Deserialize)]
struct Period {
    start: u64,
    end: Option<u64>,
}

async fn digest(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Period>,
) -> Result<Response, ApiError> {
    // Any staff member: the digest holds no PII (it is published anyway).
    session(&st, &headers).await?;
    let d = st.roll.digest(p.start, p.end.unwrap_or_else(now)).await?;
    let text = d.encode().map_err(|e| bad(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}
