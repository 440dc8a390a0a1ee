//! CSV records as the csv crate reads them (`has_headers(false)`, `flexible(true)`: comma,
//! RFC 4180 quotes with `""` inside, CR, LF or CRLF ending a record, empty lines skipped), with
//! a fast path for the usual line.
//!
//! A line with no `"` and no CR before its end is split at its commas in place: that is all
//! the csv crate's state machine would do with it. Any other record (quoted fields, fields
//! across lines, a bare CR) is handed to csv-core, the csv crate's own parser, starting at the
//! record's first byte, where the csv crate's reader would also stand at the start of a
//! record. The proptest below checks the two agree on random input.

use std::ops::ControlFlow;

/// Calls `f(line, fields)` for every record of `text`, in order. `line` is the 1-based line on
/// which the record starts (counting LF only, as the importer always has). Stops at the first
/// `Break`.
pub(crate) fn for_each_record<B>(
    text: &str,
    mut f: impl FnMut(u64, &[&str]) -> ControlFlow<B>,
) -> ControlFlow<B> {
    let bytes = text.as_bytes();
    // csv-core drops a UTF-8 byte-order mark at the very start of the data, and only there.
    let bom = text.starts_with('\u{feff}');
    let mut pos = if bom { 3 } else { 0 };
    let mut newlines = 0u64;
    let mut fields: Vec<&str> = Vec::new();
    let mut slow = Slow::default();
    loop {
        // Between records every CR and LF is skipped (csv-core's `StartRecord` state).
        while let Some(&b) = bytes.get(pos) {
            match b {
                b'\n' => newlines += 1,
                b'\r' => {}
                _ => break,
            }
            pos += 1;
        }
        if pos >= bytes.len() {
            return ControlFlow::Continue(());
        }
        // The importer has always numbered lines from the csv crate's record positions, and
        // with a byte-order mark the first record's position is 0 (the mark, not a line end,
        // so no line end before the record is counted). Kept, so messages do not change.
        let line = if bom && pos == 3 + skipped_ends(bytes, 3) {
            1
        } else {
            newlines + 1
        };
        let nl = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
        let end = if bytes[nl - 1] == b'\r' { nl - 1 } else { nl };
        let seg = &bytes[pos..end];
        if memchr::memchr2(b'"', b'\r', seg).is_none() {
            fields.clear();
            let mut start = pos;
            for i in memchr::memchr_iter(b',', seg) {
                fields.push(&text[start..pos + i]);
                start = pos + i + 1;
            }
            fields.push(&text[start..end]);
            f(line, &fields)?;
            pos = nl;
        } else {
            let consumed = slow.record(&bytes[pos..]);
            newlines += memchr::memchr_iter(b'\n', &bytes[pos..pos + consumed]).count() as u64;
            pos += consumed;
            f(line, &slow.fields())?;
        }
    }
}

/// How many CR and LF bytes follow `from`.
fn skipped_ends(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// One record through csv-core, with buffers kept between records.
struct Slow {
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    len: usize,
    /// The output as text: csv-core only drops ASCII quotes from valid UTF-8 and cuts at ASCII
    /// delimiters, so each field is valid UTF-8 too.
    text: String,
}

impl Default for Slow {
    fn default() -> Self {
        let mut s = Slow {
            core: csv_core::Reader::new(),
            out: vec![0; 1024],
            ends: vec![0; 32],
            len: 0,
            text: String::new(),
        };
        // A line end read first, so that csv-core takes no later record's first bytes for a
        // byte-order mark; it stays at a record boundary. Never reset after this: between
        // records csv-core rests in a state that starts the next record like a fresh one.
        let _ = s.core.read_record(b"\n", &mut s.out, &mut s.ends);
        s
    }
}

impl Slow {
    /// Parses the record that starts at `input[0]`; returns the bytes consumed.
    fn record(&mut self, mut input: &[u8]) -> usize {
        use csv_core::ReadRecordResult as R;
        let (mut consumed, mut outlen, mut endlen) = (0, 0, 0);
        loop {
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.out[outlen..], &mut self.ends[endlen..]);
            consumed += nin;
            input = &input[nin..];
            outlen += nout;
            endlen += nend;
            match res {
                // An empty `input` next time tells csv-core the data has ended.
                R::InputEmpty => {}
                R::OutputFull => self.out.resize(self.out.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record | R::End => break,
            }
        }
        self.len = endlen;
        self.text.clear();
        self.text
            .push_str(&String::from_utf8_lossy(&self.out[..outlen]));
        consumed
    }

    fn fields(&self) -> Vec<&str> {
        let mut start = 0;
        self.ends[..self.len]
            .iter()
            .map(|&e| {
                let f = self.text.get(start..e).unwrap_or("");
                start = e;
                f
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use proptest::prelude::*;

    /// The csv crate's records and the importer's line numbers (the record's byte position,
    /// past any line ends, as a count of LFs before it plus one).
    fn reference(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut out = Vec::new();
        let mut record = csv::StringRecord::new();
        while rdr.read_record(&mut record).unwrap() {
            let bytes = text.as_bytes();
            let mut start = record.position().unwrap().byte() as usize;
            while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
                start += 1;
            }
            let line = bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            out.push((line, record.iter().map(str::to_owned).collect()));
        }
        out
    }

    fn ours(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut out = Vec::new();
        let _ = super::for_each_record::<()>(text, |line, fields| {
            out.push((line, fields.iter().map(|f| (*f).to_owned()).collect()));
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn agrees_with_the_csv_crate_on_edge_cases() {
        for text in [
            "",
            "\n",
            "\r\n\r\n",
            "a",
            "a,b\nc,d",
            "a,b\r\nc,d\r\n",
            "a,,b,\n,\n",
            "a\rb\r\rc\n",
            "\"a,b\",c\n\"x\"\"y\",z\r\n",
            "\"multi\nline\",x\nnext,row\n",
            "\"unclosed,x\ny\n",
            "a\"b,c\"d\n",
            "\"a\"b,c\n",
            "a,b\r",
            "\r\"q\"\n",
            " a , b \n\u{feff}x,é\"ü\"\n",
            "\u{feff}a,b\n\u{feff}c\n",
            "\u{feff}\"a\",b\n\u{feff}\"c\"\n",
            "\u{feff}\n\"a\"",
        ] {
            assert_eq!(ours(text), reference(text), "{text:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn agrees_with_the_csv_crate(text in "\u{feff}?[ab,\"\r\n é\u{feff}]{0,64}") {
            prop_assert_eq!(ours(&text), reference(&text));
        }

        #[test]
        fn agrees_with_the_csv_crate_on_mostly_plain_lines(
            lines in proptest::collection::vec("[a-c ,]{0,12}(\"[a,\"\n]{0,4}\")?[a,]{0,3}(\r\n|\n|\r)?", 0..12)
        ) {
            let text = lines.concat();
            prop_assert_eq!(ours(&text), reference(&text));
        }
    }
}
