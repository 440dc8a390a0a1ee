//! Blob key rules, shared by every [`Blobs`](crate::Blobs) backend so that a fake accepts
//! exactly what a directory or an object store accepts.

use crate::BlobError;

/// Longest key, in bytes. The longest key urne writes today is a data tile path such as
/// `log/tile/entries/x001/x234/067.p/255` or `blobs/sha256/<64 hex>`, well under this.
pub const KEY_BYTES_MAX: usize = 512;

/// Longest segment (the part between slashes), in bytes. File systems allow 255 bytes per name;
/// [`DirBlobs`](crate::DirBlobs) needs room for its temporary-file decoration.
pub const KEY_SEGMENT_BYTES_MAX: usize = 200;

/// Checks that `key` is a safe relative key: non-empty, at most [`KEY_BYTES_MAX`] bytes,
/// segments separated by single `/`, each segment non-empty, not `.` or `..`, at most
/// [`KEY_SEGMENT_BYTES_MAX`] bytes, made of `A-Z a-z 0-9 . _ -` only.
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let invalid = |why| BlobError::InvalidKey {
        key: key.to_owned(),
        why,
    };
    if key.is_empty() {
        return Err(invalid("empty"));
    }
    if key.len() > KEY_BYTES_MAX {
        return Err(invalid("longer than KEY_BYTES_MAX"));
    }
    key.split('/')
        .try_for_each(|segment| check_segment(segment).map_err(invalid))
}

/// Checks a [`Blobs::list`](crate::Blobs::list) prefix: empty (everything), or a valid key,
/// or a valid key followed by `/`, or any of those followed by the start of a segment.
/// Every segment but the last must be a valid segment; the last may be partial (`log/ti`).
pub fn validate_prefix(prefix: &str) -> Result<(), BlobError> {
    let invalid = |why| BlobError::InvalidKey {
        key: prefix.to_owned(),
        why,
    };
    if prefix.len() > KEY_BYTES_MAX {
        return Err(invalid("longer than KEY_BYTES_MAX"));
    }
    let (dirs, partial) = split_prefix(prefix);
    if let Some(dirs) = dirs {
        dirs.split('/')
            .try_for_each(|segment| check_segment(segment).map_err(invalid))?;
    }
    if partial.len() > KEY_SEGMENT_BYTES_MAX {
        return Err(invalid("segment longer than KEY_SEGMENT_BYTES_MAX"));
    }
    if !partial.bytes().all(is_key_byte) {
        return Err(invalid("characters outside A-Z a-z 0-9 . _ -"));
    }
    Ok(())
}

/// Splits a prefix into its complete directory part (without the trailing `/`), if any, and
/// the partial last segment: `log/ti` → (`Some("log")`, `ti`), `log/` → (`Some("log")`, ``).
pub(crate) fn split_prefix(prefix: &str) -> (Option<&str>, &str) {
    match prefix.rsplit_once('/') {
        Some((dirs, partial)) => (Some(dirs), partial),
        None => (None, prefix),
    }
}

/// Whether `name` is a valid segment; used to skip foreign files (and our temporary files,
/// whose names contain `~`) when listing a directory.
pub(crate) fn is_valid_segment(name: &str) -> bool {
    check_segment(name).is_ok()
}

fn check_segment(segment: &str) -> Result<(), &'static str> {
    if segment.is_empty() {
        return Err("empty segment (leading, trailing or double slash)");
    }
    if segment == "." || segment == ".." {
        return Err("`.` or `..` segment");
    }
    if segment.len() > KEY_SEGMENT_BYTES_MAX {
        return Err("segment longer than KEY_SEGMENT_BYTES_MAX");
    }
    if !segment.bytes().all(is_key_byte) {
        return Err("characters outside A-Z a-z 0-9 . _ -");
    }
    Ok(())
}

fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-')
}
