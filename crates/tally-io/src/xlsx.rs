//! A streaming reader for the first sheet of an `.xlsx` workbook that reports every `<row>`
//! element, empty ones included: RCTab (Apache POI's event reader) counts an empty row as a
//! ballot with no rankings, so a reader that skips them gets different totals.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::Error;

/// Largest shared-strings table read, in entries.
pub const SHARED_STRINGS_MAX: usize = 10_000_000;
/// Largest uncompressed sheet part, in bytes (it is read into memory whole).
pub const SHEET_BYTES_MAX: u64 = 1 << 30;

fn err(file: &Path, at: impl Into<String>, rule: impl Into<String>) -> Error {
    Error::Cvr {
        file: file.to_path_buf(),
        at: at.into(),
        rule: rule.into(),
    }
}

fn entity(r: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    match r.decode().unwrap_or(Cow::Borrowed("")).as_ref() {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        other => format!("&{other};"),
    }
}

fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// An attribute's raw bytes (for ASCII-only values such as cell references and types).
fn raw_attr<'a>(e: &'a BytesStart<'_>, name: &[u8]) -> Option<Cow<'a, [u8]>> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .map(|a| a.value)
}

fn read_part(zip: &mut zip::ZipArchive<BufReader<File>>, name: &str) -> Option<Vec<u8>> {
    let mut f = zip.by_name(name).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    Some(buf)
}

fn shared_strings(file: &Path, bytes: &[u8]) -> Result<Vec<String>, Error> {
    let mut reader = Reader::from_reader(bytes);
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut in_si, mut in_t, mut in_ph) = (false, false, false);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"si" => {
                    in_si = true;
                    cur.clear();
                }
                b"t" => in_t = true,
                b"rPh" => in_ph = true,
                _ => {}
            },
            Ok(Event::Empty(e)) if e.local_name().as_ref() == b"si" => out.push(String::new()),
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                b"si" => {
                    in_si = false;
                    out.push(std::mem::take(&mut cur));
                    if out.len() > SHARED_STRINGS_MAX {
                        return Err(err(
                            file,
                            "xl/sharedStrings.xml",
                            format!("more than {SHARED_STRINGS_MAX} shared strings"),
                        ));
                    }
                }
                b"t" => in_t = false,
                b"rPh" => in_ph = false,
                _ => {}
            },
            Ok(Event::Text(t)) if in_si && in_t && !in_ph => {
                cur.push_str(&t.decode().unwrap_or_default())
            }
            Ok(Event::CData(t)) if in_si && in_t && !in_ph => {
                cur.push_str(&String::from_utf8_lossy(&t))
            }
            Ok(Event::GeneralRef(r)) if in_si && in_t && !in_ph => cur.push_str(&entity(&r)),
            Ok(Event::Eof) => break,
            Err(e) => {
                return Err(err(
                    file,
                    format!("xl/sharedStrings.xml byte {}", reader.buffer_position()),
                    format!("bad XML: {e}"),
                ));
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

fn first_sheet_part(zip: &mut zip::ZipArchive<BufReader<File>>) -> String {
    let fallback = "xl/worksheets/sheet1.xml".to_string();
    let Some(wb) = read_part(zip, "xl/workbook.xml") else {
        return fallback;
    };
    let Some(rels) = read_part(zip, "xl/_rels/workbook.xml.rels") else {
        return fallback;
    };
    let mut rid = None;
    let mut reader = Reader::from_reader(wb.as_slice());
    let mut buf = Vec::new();
    while let Ok(ev) = reader.read_event_into(&mut buf) {
        match ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"sheet" => {
                rid = attr(&e, b"id");
                break;
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let Some(rid) = rid else { return fallback };
    let mut reader = Reader::from_reader(rels.as_slice());
    let mut buf = Vec::new();
    while let Ok(ev) = reader.read_event_into(&mut buf) {
        match ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"Relationship" => {
                if attr(&e, b"Id").as_deref() == Some(rid.as_str())
                    && let Some(t) = attr(&e, b"Target")
                {
                    let t = t.trim_start_matches('/');
                    return if t.starts_with("xl/") {
                        t.to_string()
                    } else {
                        format!("xl/{t}")
                    };
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    fallback
}

/// `A1`-style reference → zero-based (column, row).
fn cell_ref(r: &str) -> Option<(u32, u32)> {
    let split = r.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = r.split_at(split);
    let mut col: u32 = 0;
    for b in letters.bytes() {
        let v = u32::from(b.to_ascii_uppercase().checked_sub(b'@')?);
        if !(1..=26).contains(&v) {
            return None;
        }
        col = col.checked_mul(26)?.checked_add(v)?;
    }
    let row: u32 = digits.parse().ok()?;
    Some((col.checked_sub(1)?, row.checked_sub(1)?))
}

/// How POI's `DataFormatter` shows a number cell in the General format.
fn number_text(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Ok(f) => format!("{f}"),
        Err(_) => v.to_string(),
    }
}

/// Calls `on_row(row_index, cells)` for every `<row>` of the first sheet, in order; `cells`
/// holds `(column, text)` of the cells that have a value. Indexes are zero-based.
pub fn for_each_row(
    file: &Path,
    mut on_row: impl FnMut(u32, &[(u32, Cow<'_, str>)]) -> Result<(), Error>,
) -> Result<(), Error> {
    let f = File::open(file).map_err(|e| Error::Io {
        file: file.to_path_buf(),
        source: e,
    })?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f))
        .map_err(|e| err(file, "", format!("not an xlsx (zip) workbook: {e}")))?;
    let strings = match read_part(&mut zip, "xl/sharedStrings.xml") {
        Some(bytes) => shared_strings(file, &bytes)?,
        None => Vec::new(),
    };
    let part = first_sheet_part(&mut zip);
    let mut sheet = zip
        .by_name(&part)
        .map_err(|_| err(file, &part, "the workbook has no first sheet"))?;
    if sheet.size() > SHEET_BYTES_MAX {
        return Err(err(
            file,
            &part,
            format!("sheet larger than {SHEET_BYTES_MAX} bytes"),
        ));
    }
    // Parsing from a slice lets quick-xml borrow instead of copying every event.
    let mut bytes = Vec::with_capacity(sheet.size() as usize);
    (&mut sheet)
        .take(SHEET_BYTES_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| err(file, &part, format!("unreadable sheet: {e}")))?;
    let mut reader = Reader::from_reader(bytes.as_slice());
    let mut cells: Vec<(u32, Cow<'_, str>)> = Vec::new();
    let mut row: u32 = 0;
    let mut next_row: u32 = 0;
    let mut col: u32 = 0;
    let mut next_col: u32 = 0;
    let mut kind: Vec<u8> = Vec::new();
    let mut value = String::new();
    let (mut in_v, mut in_is_t, mut in_cell) = (false, false, false);
    loop {
        let ev = reader.read_event().map_err(|e| {
            err(
                file,
                format!("{part} byte {}", reader.buffer_position()),
                format!("bad XML: {e}"),
            )
        })?;
        let (opened, empty) = match &ev {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = opened {
            match e.local_name().as_ref() {
                b"row" => {
                    row = raw_attr(e, b"r")
                        .and_then(|r| std::str::from_utf8(&r).ok()?.parse::<u32>().ok())
                        .map_or(next_row, |r| r.saturating_sub(1));
                    next_row = row + 1;
                    next_col = 0;
                    cells.clear();
                    if empty {
                        on_row(row, &cells)?;
                    }
                }
                b"c" => {
                    col = next_col;
                    kind.clear();
                    for a in e.attributes().flatten() {
                        match a.key.local_name().as_ref() {
                            b"r" => {
                                if let Some((c, _)) =
                                    std::str::from_utf8(&a.value).ok().and_then(cell_ref)
                                {
                                    col = c;
                                }
                            }
                            b"t" => kind.extend_from_slice(&a.value),
                            _ => {}
                        }
                    }
                    next_col = col + 1;
                    value.clear();
                    in_cell = !empty;
                }
                _ => {}
            }
        }
        match ev {
            Event::End(e) if e.local_name().as_ref() == b"row" => on_row(row, &cells)?,
            Event::End(e) if e.local_name().as_ref() == b"c" => {
                in_cell = false;
                let text: Option<Cow<'_, str>> = match kind.as_slice() {
                    b"s" => value
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| strings.get(i))
                        .map(|s| Cow::Borrowed(s.as_str())),
                    b"inlineStr" | b"str" | b"e" => Some(Cow::Owned(value.clone())),
                    b"b" => Some(Cow::Borrowed(if value.trim() == "1" {
                        "TRUE"
                    } else {
                        "FALSE"
                    })),
                    _ if value.is_empty() => None,
                    _ => Some(Cow::Owned(number_text(value.trim()))),
                };
                if let Some(t) = text {
                    cells.push((col, t));
                }
            }
            Event::Start(e) if in_cell && e.local_name().as_ref() == b"v" => in_v = true,
            Event::End(e) if e.local_name().as_ref() == b"v" => in_v = false,
            Event::Start(e) if in_cell && e.local_name().as_ref() == b"t" => in_is_t = true,
            Event::End(e) if e.local_name().as_ref() == b"t" => in_is_t = false,
            Event::Text(t) if in_v || in_is_t => value.push_str(&t.decode().unwrap_or_default()),
            Event::GeneralRef(r) if in_v || in_is_t => value.push_str(&entity(&r)),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(())
}
