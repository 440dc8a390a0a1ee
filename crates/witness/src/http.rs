//! The HTTP surface: `POST /add-checkpoint` and the one mapping from [`AddError`] to a response.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::request::BODY_BYTES_MAX;
use crate::{AddError, Witness};

/// tlog-witness: the 409 body is the latest cosigned size with this content type.
pub const CONTENT_TYPE_TLOG_SIZE: &str = "text/x.tlog.size";

const CONTENT_TYPE_TEXT: &str = "text/plain; charset=utf-8";

/// Time to receive a request body and answer it. A client that sends its body more slowly
/// gets 408 and its connection's slot back. Dropping a request after its swap committed is
/// safe: the client's retry (with the new `old`) is a re-cosign.
pub const REQUEST_TIME_MAX: Duration = Duration::from_secs(10);

/// The witness's routes: `POST /add-checkpoint` (the submission prefix is the root; nest the
/// router to put it elsewhere). Bodies over [`BODY_BYTES_MAX`] are refused with 400; requests
/// taking over [`REQUEST_TIME_MAX`] with 408.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(middleware::from_fn(time_limit))
        // The limit is enforced while the body streams in; the rejection reaches the handler,
        // which answers 400 like any other malformed request.
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(witness)
}

async fn time_limit(request: Request, next: Next) -> Response {
    tokio::time::timeout(REQUEST_TIME_MAX, next.run(request))
        .await
        .unwrap_or_else(|_| AddError::TimedOut.into_response())
}

async fn add_checkpoint(
    State(witness): State<Arc<Witness>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AddError> {
    let body = body.map_err(|e| AddError::Body(e.body_text()))?;
    let lines = witness.add_checkpoint(&body).await?;
    Ok(([(CONTENT_TYPE, CONTENT_TYPE_TEXT)], lines).into_response())
}

impl IntoResponse for AddError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            AddError::State(_) | AddError::Sign(_) => {
                tracing::error!(error = %self, "add-checkpoint failed");
            }
            // tlog-witness: the witness "MAY log the request even if the consistency proof
            // doesn't verify ... as it might be proof of log misbehavior".
            AddError::Inconsistent { .. } | AddError::RootMismatch { .. } => {
                tracing::warn!(error = %self, "add-checkpoint refused: possible log misbehavior");
            }
            _ => tracing::debug!(error = %self, "add-checkpoint refused"),
        }
        match self {
            AddError::OldSizeMismatch { latest } | AddError::RootMismatch { latest, .. } => (
                status,
                [(CONTENT_TYPE, CONTENT_TYPE_TLOG_SIZE)],
                format!("{latest}\n"),
            )
                .into_response(),
            // Internal failures: the cause is in the log above, the client gets a plain line.
            AddError::State(_) | AddError::Sign(_) => (
                status,
                [(CONTENT_TYPE, CONTENT_TYPE_TEXT)],
                "internal error\n".to_string(),
            )
                .into_response(),
            other => (
                status,
                [(CONTENT_TYPE, CONTENT_TYPE_TEXT)],
                format!("{other}\n"),
            )
                .into_response(),
        }
    }
}

impl AddError {
    /// The tlog-witness status code for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AddError::Body(_) | AddError::Malformed(_) | AddError::OldLargerThanNew { .. } => {
                StatusCode::BAD_REQUEST
            }
            AddError::UnknownLog(_) => StatusCode::NOT_FOUND,
            AddError::TimedOut => StatusCode::REQUEST_TIMEOUT,
            AddError::Forbidden(_) => StatusCode::FORBIDDEN,
            AddError::OldSizeMismatch { .. } | AddError::RootMismatch { .. } => {
                StatusCode::CONFLICT
            }
            AddError::Inconsistent { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AddError::State(_) | AddError::Sign(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
