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
/// `Break`. Fields are bytes of `text` cut at ASCII separators, so each is UTF-8 too; handing
/// them on as bytes saves checking two character boundaries per field. `slow` keeps csv-core's reader from one text to the next (building it takes
/// ~0.3 M instructions; many files of a set have a quoted field somewhere).
pub(crate) fn for_each_record<B>(
    text: &str,
    slow: &mut Option<Slow>,
    mut f: impl FnMut(u64, &[&[u8]]) -> ControlFlow<B>,
) -> ControlFlow<B> {
    let bytes = text.as_bytes();
    // csv-core drops a UTF-8 byte-order mark at the very start of the data, and only there.
    let bom = text.starts_with('\u{feff}');
    let mut pos = if bom { 3 } else { 0 };
    let mut newlines = 0u64;
    let mut fields: Vec<&[u8]> = Vec::with_capacity(16);
    let mut seps = Seps::new(bytes, pos);
    if let Some(s) = slow {
        s.restart();
    }
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
        if let Some(nl) = split_line(bytes, pos, &mut seps, &mut fields) {
            f(line, &fields)?;
            pos = nl;
        } else {
            let slow = slow.get_or_insert_with(Slow::default);
            let consumed = slow.record(&bytes[pos..]);
            newlines += memchr::memchr_iter(b'\n', &bytes[pos..pos + consumed]).count() as u64;
            pos += consumed;
            f(line, &slow.fields())?;
        }
    }
}

/// Splits the line starting at `pos` (not at a line end) into `fields` if it is plain: no `"`
/// other than around a whole field that holds no `"` or line end, and no CR but one just before
/// its LF (a CR alone ends a record for csv-core). Returns where the line's LF is (or the end of
/// the text); `None` if the record needs csv-core. Not inlined: on its own it keeps its loop
/// state in registers.
#[inline(never)]
fn split_line<'t>(
    bytes: &'t [u8],
    pos: usize,
    seps: &mut Seps<'_>,
    fields: &mut Vec<&'t [u8]>,
) -> Option<usize> {
    fields.clear();
    let mut start = pos;
    seps.skip_to(pos);
    loop {
        let Some(i) = seps.next() else {
            // The last line, without a line end.
            fields.push(&bytes[start..]);
            return Some(bytes.len());
        };
        match bytes[i] {
            b',' => {
                fields.push(&bytes[start..i]);
                start = i + 1;
            }
            b'\n' => {
                let end = if i > start && bytes[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                fields.push(&bytes[start..end]);
                return Some(i);
            }
            b'"' => {
                // A quote opening the field: its closing quote must come before any line end,
                // and the field must end right after it.
                if i != start {
                    return None;
                }
                let close = i + 1 + memchr::memchr2(b'"', b'\n', &bytes[i + 1..])?;
                if bytes[close] != b'"' {
                    return None;
                }
                fields.push(&bytes[i + 1..close]);
                let after = close + 1;
                match bytes.get(after) {
                    None => return Some(bytes.len()),
                    Some(b',') => {
                        start = after + 1;
                        seps.skip_to(start);
                    }
                    Some(b'\n') => return Some(after),
                    Some(b'\r') if bytes.get(after + 1) == Some(&b'\n') => return Some(after + 1),
                    Some(_) => return None,
                }
            }
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => return None,
            // The CR of a CRLF.
            _ => {}
        }
    }
}

/// Positions of `,`, `"`, CR and LF from some position on, in order, found 64 bytes at a
/// time: each 16 bytes compared with all four at once (SIMD through `wide`: SSE2 on x86-64,
/// NEON on aarch64, plain code elsewhere) into one bit per byte. Kept from one line to the
/// next, so each byte of a text is classified once.
struct Seps<'a> {
    bytes: &'a [u8],
    /// Where the current block starts.
    at: usize,
    /// One bit per byte of the current block that is a separator not yet returned.
    mask: u64,
}

/// Bytes per block of [`Seps`].
const BLOCK: usize = 64;

impl<'a> Seps<'a> {
    #[inline]
    fn new(bytes: &'a [u8], from: usize) -> Self {
        let mut s = Seps {
            bytes,
            at: from,
            mask: 0,
        };
        s.load();
        s
    }

    #[inline(always)]
    fn load(&mut self) {
        use wide::u8x16;
        let mut padded = [0u8; BLOCK];
        let block: &[u8] = match self.bytes.get(self.at..self.at + BLOCK) {
            Some(b) => b,
            None => {
                // The last bytes, padded with bytes that are no separators.
                let tail = self.bytes.get(self.at..).unwrap_or(&[]);
                padded[..tail.len()].copy_from_slice(tail);
                &padded
            }
        };
        let mut mask = 0u64;
        for (k, lane) in block.chunks_exact(16).enumerate() {
            let v = u8x16::new(lane.try_into().unwrap_or([0; 16]));
            let hits = v.simd_eq(u8x16::splat(b','))
                | v.simd_eq(u8x16::splat(b'\n'))
                | v.simd_eq(u8x16::splat(b'"'))
                | v.simd_eq(u8x16::splat(b'\r'));
            mask |= u64::from(hits.to_bitmask()) << (16 * k);
        }
        self.mask = mask;
    }

    /// Forgets the separators before `pos`, which is past every one returned so far.
    #[inline(always)]
    fn skip_to(&mut self, pos: usize) {
        match pos.checked_sub(self.at) {
            Some(0) => {}
            Some(k) if k < BLOCK => self.mask &= u64::MAX << k,
            _ => {
                self.at = pos;
                self.load();
            }
        }
    }

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.at += BLOCK;
            if self.at >= self.bytes.len() {
                return None;
            }
            self.load();
        }
        let i = self.at + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(i)
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
#[derive(Debug)]
pub(crate) struct Slow {
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
    /// Back at the start of a text, as if just built.
    fn restart(&mut self) {
        self.core.reset();
        let _ = self.core.read_record(b"\n", &mut self.out, &mut self.ends);
    }

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

    fn fields(&self) -> Vec<&[u8]> {
        let mut start = 0;
        self.ends[..self.len]
            .iter()
            .map(|&e| {
                let f = self.text.get(start..e).unwrap_or("");
                start = e;
                f.as_bytes()
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
        let _ = super::for_each_record::<()>(text, &mut None, |line, fields| {
            let fields = fields
                .iter()
                .map(|f| String::from_utf8(f.to_vec()).unwrap());
            out.push((line, fields.collect()));
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
            "\"a\",b\n\"c\"\r\n\"d\"",
            "\"a\"x,b\n\"a\"\r,b\n\"a\"\"b\",c\n",
            "a,\"b\n\"\"\n\"\",\"\"\n\"a\nb\",c\n",
            "x,\"a,b\",\"c\"\r\ny, \"z\"\n",
            "a,b\rc,d\r\ne\r",
            "long line with spaces, and more!,(x),#1\r\nsecond-line,\t,\u{7f}\n",
        ] {
            assert_eq!(ours(text), reference(text), "{text:?}");
        }
    }

    /// Separators, quotes and line ends at every offset around the 64-byte blocks the
    /// separators are found in, and lines that start inside a block.
    #[test]
    fn agrees_with_the_csv_crate_across_blocks() {
        for pad in 0..140 {
            let a = "x".repeat(pad);
            for tail in [
                ",b\nc,d\n",
                "\r\n,\n",
                ",\"q,\nq\",\"\"\n",
                "\"a\"\"b\",c\r\nd",
                "\rz,\n",
                ",,\n\n\n,",
            ] {
                let text = format!("{a}{tail}{a}{tail}");
                assert_eq!(ours(&text), reference(&text), "{text:?}");
            }
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
