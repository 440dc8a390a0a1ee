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
/// Deepest element nesting in a sheet (a worksheet needs about 5).
pub const SHEET_DEPTH_MAX: usize = 256;
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
    let mut bytes = Vec::with_capacity(sheet.size() as usize);
    (&mut sheet)
        .take(SHEET_BYTES_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| err(file, &part, format!("unreadable sheet: {e}")))?;
    scan_sheet(&bytes, &strings, &mut on_row).map_err(|(at, rule)| match at {
        Some(at) => err(file, format!("{part} byte {at}"), rule),
        None => err(file, &part, rule),
    })?
}

/// Scans inflated worksheet XML as [`for_each_row`] does, calling `on_row(row, cells)` per
/// `<row>`; `strings` is the shared-strings table. A malformed sheet gives
/// `Err("byte N: rule")`. For fuzzing and for callers that hold the XML already.
pub fn scan_sheet_xml(
    bytes: &[u8],
    strings: &[String],
    mut on_row: impl FnMut(u32, &[(u32, Cow<'_, str>)]),
) -> Result<(), String> {
    let result = scan_sheet(bytes, strings, &mut |row, cells| {
        on_row(row, cells);
        Ok(())
    });
    match result {
        Ok(_) => Ok(()),
        Err((Some(at), rule)) => Err(format!("byte {at}: {rule}")),
        Err((None, rule)) => Err(rule),
    }
}

/// What went wrong scanning a sheet: a byte offset (if any) and the rule, or the row callback's
/// own error.
type ScanError = (Option<usize>, String);

/// Which cell text the scanner is collecting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CellType {
    Shared,
    Inline,
    Bool,
    Number,
}

/// Appends XML character data to `out`, resolving the five predefined entities and character
/// references; an unknown entity is kept as written (`&name;`), as the event reader did.
fn push_text(raw: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut rest = raw;
    while let Some(amp) = memchr::memchr(b'&', rest) {
        out.extend_from_slice(&rest[..amp]);
        let tail = &rest[amp + 1..];
        let semi = memchr::memchr(b';', tail).ok_or("an unterminated entity reference")?;
        let name = &tail[..semi];
        match name {
            b"amp" => out.push(b'&'),
            b"lt" => out.push(b'<'),
            b"gt" => out.push(b'>'),
            b"quot" => out.push(b'"'),
            b"apos" => out.push(b'\''),
            [b'#', num @ ..] => {
                let code = match num {
                    [b'x', hex @ ..] => std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok()),
                    dec => std::str::from_utf8(dec).ok().and_then(|d| d.parse().ok()),
                };
                let c = code
                    .and_then(char::from_u32)
                    .ok_or("a bad character reference")?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            other => {
                out.push(b'&');
                out.extend_from_slice(other);
                out.push(b';');
            }
        }
        rest = &tail[semi + 1..];
    }
    out.extend_from_slice(rest);
    Ok(())
}

/// Index just past `needle` at or after `from`.
fn find_after(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(&bytes[from..], needle).map(|p| from + p + needle.len())
}

/// The `name="value"` pairs of a start tag's attribute text.
fn attributes(mut text: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
        text = &text[start..];
        let eq = memchr::memchr(b'=', text)?;
        let key = text[..eq].trim_ascii_end();
        let after = text[eq + 1..].trim_ascii_start();
        let quote = *after.first()?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let end = memchr::memchr(quote, &after[1..])?;
        let value = &after[1..1 + end];
        text = &after[end + 2..];
        let local = key.rsplit(|b| *b == b':').next().unwrap_or(key);
        Some((local, value))
    })
}

/// A byte-level scanner over worksheet XML: only `<row>`, `<c>`, `<v>` and inline `<t>` matter,
/// so it finds tags with `memchr` and reads their attributes in place, with no allocation per
/// cell (shared strings are borrowed). It still checks that every end tag closes the element
/// open, and that none is left open at the end, as the event reader did.
fn scan_sheet<'s>(
    bytes: &[u8],
    strings: &'s [String],
    on_row: &mut impl FnMut(u32, &[(u32, Cow<'s, str>)]) -> Result<(), Error>,
) -> Result<Result<(), Error>, ScanError> {
    let mut open: Vec<&[u8]> = Vec::new();
    let mut cells: Vec<(u32, Cow<'s, str>)> = Vec::new();
    let mut value: Vec<u8> = Vec::new();
    let (mut row, mut next_row, mut col, mut next_col) = (0u32, 0u32, 0u32, 0u32);
    let mut kind = CellType::Number;
    let (mut in_cell, mut collecting) = (false, false);
    let mut i = 0usize;
    while let Some(lt) = memchr::memchr(b'<', &bytes[i..]) {
        if collecting {
            push_text(&bytes[i..i + lt], &mut value).map_err(|r| (Some(i), r.to_string()))?;
        }
        let at = i + lt;
        let tag = at + 1;
        let bad = |rule: &str| (Some(at), rule.to_string());
        match bytes.get(tag) {
            Some(b'?') => {
                i = find_after(bytes, tag, b"?>").ok_or_else(|| bad("unclosed <?"))?;
                continue;
            }
            Some(b'!') => {
                if bytes[tag..].starts_with(b"!--") {
                    i = find_after(bytes, tag, b"-->").ok_or_else(|| bad("unclosed comment"))?;
                } else if bytes[tag..].starts_with(b"![CDATA[") {
                    let end =
                        find_after(bytes, tag, b"]]>").ok_or_else(|| bad("unclosed CDATA"))?;
                    if collecting {
                        value.extend_from_slice(&bytes[tag + 8..end - 3]);
                    }
                    i = end;
                } else {
                    i = find_after(bytes, tag, b">").ok_or_else(|| bad("unclosed <!"))?;
                }
                continue;
            }
            _ => {}
        }
        let close = bytes.get(tag) == Some(&b'/');
        let name_start = if close { tag + 1 } else { tag };
        // The tag ends at the first `>` outside quotes.
        let mut end = name_start;
        let mut quote = 0u8;
        loop {
            let Some(&b) = bytes.get(end) else {
                return Err(bad("a tag is not closed"));
            };
            if quote != 0 {
                if b == quote {
                    quote = 0;
                }
            } else if b == b'"' || b == b'\'' {
                quote = b;
            } else if b == b'>' {
                break;
            }
            end += 1;
        }
        i = end + 1;
        let inner = &bytes[name_start..end];
        let self_closing = !close && inner.last() == Some(&b'/');
        let inner = if self_closing {
            &inner[..inner.len() - 1]
        } else {
            inner
        };
        let name_len = inner
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(inner.len());
        let name = &inner[..name_len];
        if name.is_empty() {
            return Err(bad("a tag without a name"));
        }
        let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
        if close {
            if open.pop() != Some(name) {
                return Err(bad("an end tag does not match the element open"));
            }
            match local {
                b"row" => {
                    if let Err(e) = on_row(row, &cells) {
                        return Ok(Err(e));
                    }
                }
                b"c" if in_cell => {
                    in_cell = false;
                    collecting = false;
                    if let Some(text) = cell_text(kind, &value, strings) {
                        cells.push((col, text));
                    }
                }
                b"v" | b"t" => collecting = false,
                _ => {}
            }
            continue;
        }
        if !self_closing {
            if open.len() >= SHEET_DEPTH_MAX {
                return Err(bad(&format!("elements nest deeper than {SHEET_DEPTH_MAX}")));
            }
            open.push(name);
        }
        let attrs = &inner[name_len..];
        match local {
            b"row" => {
                row = attributes(attrs)
                    .find(|a| a.0 == b"r")
                    .and_then(|a| std::str::from_utf8(a.1).ok()?.trim().parse::<u32>().ok())
                    .map_or(next_row, |r| r.saturating_sub(1));
                next_row = row + 1;
                next_col = 0;
                cells.clear();
                if self_closing && let Err(e) = on_row(row, &cells) {
                    return Ok(Err(e));
                }
            }
            b"c" => {
                col = next_col;
                let mut kind_text: &[u8] = b"";
                for (key, v) in attributes(attrs) {
                    match key {
                        b"r" => {
                            if let Some((c, _)) = std::str::from_utf8(v).ok().and_then(cell_ref) {
                                col = c;
                            }
                        }
                        b"t" => kind_text = v,
                        _ => {}
                    }
                }
                kind = match kind_text {
                    b"s" => CellType::Shared,
                    b"inlineStr" | b"str" | b"e" => CellType::Inline,
                    b"b" => CellType::Bool,
                    _ => CellType::Number,
                };
                next_col = col + 1;
                value.clear();
                in_cell = !self_closing;
            }
            b"v" | b"t" if in_cell && !self_closing => collecting = true,
            _ => {}
        }
    }
    if let Some(name) = open.last() {
        return Err((
            None,
            format!("the sheet ends inside <{}>", String::from_utf8_lossy(name)),
        ));
    }
    Ok(Ok(()))
}

/// A finished cell's text as POI's `DataFormatter` shows it; `None` for an empty cell.
fn cell_text<'s>(kind: CellType, value: &[u8], strings: &'s [String]) -> Option<Cow<'s, str>> {
    let text = String::from_utf8_lossy(value);
    match kind {
        CellType::Shared => text
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|i| strings.get(i))
            .map(|s| Cow::Borrowed(s.as_str())),
        CellType::Inline => Some(Cow::Owned(text.into_owned())),
        CellType::Bool => Some(Cow::Borrowed(if text.trim() == "1" {
            "TRUE"
        } else {
            "FALSE"
        })),
        CellType::Number if value.is_empty() => None,
        CellType::Number => Some(Cow::Owned(number_text(text.trim()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows as `row: col=text|…`, or the scanner's refusal.
    fn scan(xml: &str) -> String {
        let strings = vec!["Alice".to_string(), "B & C".to_string()];
        let mut out = Vec::new();
        let result = scan_sheet(xml.as_bytes(), &strings, &mut |row, cells| {
            let cells: Vec<String> = cells.iter().map(|(c, t)| format!("{c}={t}")).collect();
            out.push(format!("{row}: {}", cells.join("|")));
            Ok(())
        });
        match result {
            Ok(Ok(())) => out.join("\n"),
            Ok(Err(e)) => format!("callback: {e}"),
            Err((at, rule)) => format!("refused at {at:?}: {rule}"),
        }
    }

    #[test]
    fn cells_rows_and_entities() {
        let xml = r#"<?xml version="1.0"?><worksheet xmlns="x"><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>
<row r="2"/>
<row><c t="inlineStr"><is><t>x &amp; y &#65;&#x42;&nbsp;</t></is></c><c r="D3"><v>12.0</v></c><c r="E3"/></row>
<!-- a comment with <row> inside -->
<x:row r="5"><x:c r="B5" t="b"><x:v>1</x:v></x:c><c r="F5" t="str"><v><![CDATA[a<b]]></v></c></x:row>
</sheetData></worksheet>"#;
        assert_eq!(
            scan(xml),
            "0: 0=Alice|2=B & C\n1: \n2: 0=x & y AB&nbsp;|3=12\n4: 1=TRUE|5=a<b"
        );
    }

    /// Random byte flips, insertions and truncations of a valid sheet never panic, and every
    /// cell reported lies in a row the scanner opened (a cheap stand-in for the fuzz target
    /// `fuzz/fuzz_targets/tally_xlsx_sheet.rs` that runs in every `cargo test`).
    #[test]
    fn mutated_sheets_never_panic() {
        let base = br#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1" t="inlineStr"><is><t>a&amp;b</t></is></c></row><row r="2"/><row><c r="C3"><v>7</v></c></row></sheetData></worksheet>"#;
        let strings = vec!["x".to_string(), "y".to_string()];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let alphabet = b"<>/=\"' &;#x:!?[]CDATArcvtis0123456789";
        for _ in 0..5_000 {
            let mut bytes = base.to_vec();
            for _ in 0..1 + next(4) {
                let at = next(bytes.len() + 1);
                match next(3) {
                    0 if at < bytes.len() => bytes[at] = alphabet[next(alphabet.len())],
                    1 => bytes.insert(at, alphabet[next(alphabet.len())]),
                    _ => bytes.truncate(at),
                }
            }
            let _ = scan_sheet_xml(&bytes, &strings, |_, cells| {
                assert!(cells.len() <= bytes.len());
            });
        }
        // The fuzz target's exact call.
        assert!(scan_sheet_xml(base, &strings, |_, _| {}).is_ok());
    }

    #[test]
    fn malformed_sheets_are_refused() {
        assert_eq!(
            scan("<sheetData><row><c><v>1</v></row></sheetData>"),
            "refused at Some(27): an end tag does not match the element open"
        );
        assert_eq!(
            scan("<sheetData><row><c><v>1</v></c></row>"),
            "refused at None: the sheet ends inside <sheetData>"
        );
        assert_eq!(
            scan("<sheetData><row r=\"1\""),
            "refused at Some(11): a tag is not closed"
        );
        assert_eq!(
            scan("<sheetData><row><c t=\"inlineStr\"><is><t>&#xZZ;</t></is></c></row></sheetData>"),
            "refused at Some(40): a bad character reference"
        );
    }
}
