//! NIST SP 1500-102 style XML: the same records, element names and rules as the JSON form in
//! [`crate::format`], as elements instead of JSON members.
//!
//! ```xml
//! <VoterRecords>
//!   <VoterRecord>
//!     <VoterId><Type>local-voter-registration-id</Type><StringValue>V1</StringValue></VoterId>
//!     <Name><FirstName>Ada</FirstName><LastName>Lovelace</LastName></Name>
//!     <District><Type>congressional</Type><Id>1</Id></District>
//!     ...
//!   </VoterRecord>
//! </VoterRecords>
//! ```
//!
//! The mapping is mechanical, so one decoder ([`crate::format::record_from_json`]) keeps the
//! rules: a JSON object is an element with child elements, a JSON string is an element's text,
//! an absent or `null` member is an absent element, and the JSON lists `VoterId`,
//! `ContactMethod`, `VoterParticipation` and `Districts` are repeated `VoterId`,
//! `ContactMethod`, `VoterParticipation` and `District` elements. Attributes and namespaces are
//! ignored (elements match by local name); unknown elements are ignored as unknown JSON members
//! are. A document type declaration is refused (no entity expansion), as are entities other
//! than the five predefined ones and character references.
//!
//! The same parser reads the VRI schema's own list document, a `VoterRecordsResponse` of
//! `VoterRecord`s ([`crate::vri`], what `urne roll export` writes); the root element picks
//! which mapping decodes the records.
//!
//! Errors name the line and the element path, never the value.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};
use serde_json::{Map, Value};
use urne_roll::VoterRecord;

use crate::format;

/// Element nesting depth in an import (`VoterRecords/VoterRecord/Name/FirstName` is 4).
pub const XML_DEPTH_MAX: usize = 8;
/// Bytes of text in one element.
pub const XML_TEXT_BYTES_MAX: usize = 4096;
/// Child elements of one element below the root.
pub const XML_CHILDREN_MAX: usize = 1024;

/// A document-level error (the whole file is refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct XmlError {
    /// 1-based line.
    pub line: u64,
    /// The element path and the rule, without the value.
    pub message: String,
}

/// One `VoterRecord` element: its start line and the decoded record, or the rule it broke
/// (naming the element path).
pub type XmlRecord = (u64, Result<VoterRecord, String>);

/// The repeated elements and the JSON list each one builds.
const LISTS: [(&str, &str); 4] = [
    ("VoterId", "VoterId"),
    ("ContactMethod", "ContactMethod"),
    ("VoterParticipation", "VoterParticipation"),
    ("District", "Districts"),
];

/// The repeated elements of a VRI `VoterRecordsResponse` record and the lists they build.
const VRI_LISTS: [(&str, &str); 9] = [
    ("VoterId", "VoterId"),
    ("ContactMethod", "ContactMethod"),
    ("VoterParticipation", "VoterParticipation"),
    ("District", "District"),
    ("Locality", "Locality"),
    ("ExternalIdentifier", "ExternalIdentifier"),
    ("MiddleName", "MiddleName"),
    ("VoterClassification", "VoterClassification"),
    ("PlaceName", "PlaceName"),
];

/// Which of the two accepted documents is being read, chosen by its root element.
#[derive(Clone, Copy)]
struct Shape {
    root: &'static str,
    lists: &'static [(&'static str, &'static str)],
    decode: fn(&Value, &str) -> Result<VoterRecord, String>,
}

const URNE_SHAPE: Shape = Shape {
    root: "VoterRecords",
    lists: &LISTS,
    decode: format::record_from_json,
};

const VRI_SHAPE: Shape = Shape {
    root: "VoterRecordsResponse",
    lists: &VRI_LISTS,
    decode: crate::vri::record_from_vri,
};

struct Frame {
    name: String,
    line: u64,
    children: Map<String, Value>,
    text: String,
    has_children: bool,
}

impl Frame {
    fn new(name: String, line: u64) -> Frame {
        Frame {
            name,
            line,
            children: Map::new(),
            text: String::new(),
            has_children: false,
        }
    }
}

struct Lines<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u64,
}

impl Lines<'_> {
    /// The 1-based line of byte offset `pos` (offsets only move forward).
    fn of(&mut self, pos: u64) -> u64 {
        let pos = usize::try_from(pos)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if pos > self.at {
            self.line += self.bytes[self.at..pos]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.at = pos;
        }
        self.line
    }
}

fn entity(r: &BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Some(c.to_string());
    }
    Some(
        match r.decode().unwrap_or(Cow::Borrowed("")).as_ref() {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "quot" => "\"",
            "apos" => "'",
            _ => return None,
        }
        .to_owned(),
    )
}

fn path_of(stack: &[Frame]) -> String {
    stack
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// Parses a `VoterRecords` document into its records, each decoded by the JSON form's rules.
/// A malformed document is one [`XmlError`]; a record that breaks a rule is an `Err` in its
/// slot so that the caller can report every bad record.
pub fn records_from_xml(bytes: &[u8]) -> Result<Vec<XmlRecord>, XmlError> {
    let mut reader = Reader::from_reader(bytes);
    let mut lines = Lines {
        bytes,
        at: 0,
        line: 1,
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut out = Vec::new();
    let mut seen_root = false;
    let mut shape = URNE_SHAPE;
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let line = lines.of(reader.error_position());
            let what = match e {
                quick_xml::Error::IllFormed(_) => "mismatched or unclosed element",
                quick_xml::Error::Encoding(_) => "not UTF-8",
                _ => "malformed XML",
            };
            XmlError {
                line,
                message: what.into(),
            }
        })?;
        let line = lines.of(pos);
        let fail = |stack: &[Frame], rule: &str| XmlError {
            line,
            message: if stack.is_empty() {
                rule.to_owned()
            } else {
                format!("{}: {rule}", path_of(stack))
            },
        };
        match event {
            Event::Start(_) | Event::Empty(_) => {
                let (e, empty) = match &event {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    _ => unreachable!("matched above"),
                };
                let name = std::str::from_utf8(e.local_name().as_ref())
                    .map_err(|_| fail(&stack, "element name not UTF-8"))?
                    .to_owned();
                if stack.is_empty() {
                    if seen_root {
                        return Err(fail(&stack, "a second root element"));
                    }
                    shape = match name.as_str() {
                        "VoterRecords" => URNE_SHAPE,
                        "VoterRecordsResponse" => VRI_SHAPE,
                        _ => {
                            return Err(fail(
                                &stack,
                                "the root element must be VoterRecordsResponse or VoterRecords",
                            ));
                        }
                    };
                    seen_root = true;
                } else if stack.len() == 1
                    && name == "TransactionId"
                    && shape.root == VRI_SHAPE.root
                {
                    // The response's own id: read and ignored.
                } else if stack.len() == 1 && name != "VoterRecord" {
                    return Err(fail(&stack, &format!("{name}: expected VoterRecord")));
                }
                if stack.len() >= XML_DEPTH_MAX {
                    return Err(fail(&stack, &format!("nested over {XML_DEPTH_MAX} deep")));
                }
                if let Some(top) = stack.last_mut() {
                    top.has_children = true;
                }
                stack.push(Frame::new(name, line));
                if empty {
                    close(&mut stack, &mut out, line, shape)?;
                }
            }
            Event::End(_) => close(&mut stack, &mut out, line, shape)?,
            Event::Text(t) => {
                let s = t.decode().map_err(|_| fail(&stack, "text not UTF-8"))?;
                push_text(&mut stack, &s, line)?;
            }
            Event::CData(t) => {
                let s = std::str::from_utf8(&t).map_err(|_| fail(&stack, "text not UTF-8"))?;
                push_text(&mut stack, s, line)?;
            }
            Event::GeneralRef(r) => {
                let s = entity(&r).ok_or_else(|| fail(&stack, "unknown entity"))?;
                push_text(&mut stack, &s, line)?;
            }
            Event::DocType(_) => {
                return Err(fail(&stack, "a document type declaration is not allowed"));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof if stack.is_empty() => break,
            Event::Eof => {
                return Err(fail(&stack, "mismatched or unclosed element at the end"));
            }
        }
    }
    if !seen_root {
        return Err(XmlError {
            line: lines.line,
            message: "no VoterRecordsResponse (or VoterRecords) element".into(),
        });
    }
    Ok(out)
}

fn push_text(stack: &mut [Frame], s: &str, line: u64) -> Result<(), XmlError> {
    let path = path_of(stack);
    match stack.last_mut() {
        None if s.trim().is_empty() => Ok(()),
        None => Err(XmlError {
            line,
            message: "text outside the root element".into(),
        }),
        Some(top) => {
            if top.text.len() + s.len() > XML_TEXT_BYTES_MAX {
                return Err(XmlError {
                    line,
                    message: format!("{path}: text over {XML_TEXT_BYTES_MAX} bytes"),
                });
            }
            top.text.push_str(s);
            Ok(())
        }
    }
}

/// Closes the top element: a `VoterRecord` is decoded into `out`; any other becomes a member
/// of its parent.
fn close(
    stack: &mut Vec<Frame>,
    out: &mut Vec<XmlRecord>,
    line: u64,
    shape: Shape,
) -> Result<(), XmlError> {
    let path = path_of(stack);
    let Some(f) = stack.pop() else {
        return Ok(());
    };
    if f.has_children && !f.text.trim().is_empty() {
        return Err(XmlError {
            line,
            message: format!("{path}: text mixed with elements"),
        });
    }
    let value = if f.has_children {
        Value::Object(f.children)
    } else if stack.len() == 1 {
        // An empty VoterRecord: decode it so that the rule names what is missing.
        Value::Object(Map::new())
    } else {
        Value::String(f.text)
    };
    match stack.len() {
        0 => Ok(()),
        1 if f.name != "VoterRecord" => Ok(()),
        1 => {
            let i = out.len();
            let path = format!("{}/VoterRecord[{}]", shape.root, i + 1);
            out.push((f.line, (shape.decode)(&value, &path)));
            Ok(())
        }
        _ => {
            let Some(parent) = stack.last_mut() else {
                return Ok(());
            };
            if parent.children.len() >= XML_CHILDREN_MAX {
                return Err(XmlError {
                    line,
                    message: format!("{path}: over {XML_CHILDREN_MAX} elements in its parent"),
                });
            }
            match shape.lists.iter().find(|(el, _)| *el == f.name) {
                Some((_, list)) => {
                    let entry = parent
                        .children
                        .entry((*list).to_owned())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    match entry {
                        Value::Array(a) if a.len() < XML_CHILDREN_MAX => a.push(value),
                        _ => {
                            return Err(XmlError {
                                line,
                                message: format!("{path}: too many"),
                            });
                        }
                    }
                }
                None => {
                    if parent.children.contains_key(&f.name) {
                        return Err(XmlError {
                            line,
                            message: format!("{path}: repeated"),
                        });
                    }
                    parent.children.insert(f.name, value);
                }
            }
            Ok(())
        }
    }
}

/// The XML document's opening, before the records.
pub const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VoterRecords>\n";
/// The XML document's close, after the records.
pub const XML_TAIL: &str = "</VoterRecords>\n";

/// One record as a `VoterRecord` element (one line), or the field that XML 1.0 cannot carry
/// (a control character).
pub fn record_to_xml(r: &VoterRecord) -> Result<String, String> {
    let mut s = String::with_capacity(1024);
    write_element(&mut s, "VoterRecord", &format::record_to_json(r))?;
    s.push('\n');
    Ok(s)
}

fn write_element(s: &mut String, name: &str, v: &Value) -> Result<(), String> {
    match v {
        Value::Null => Ok(()),
        Value::Array(items) => {
            let el = LISTS
                .iter()
                .find(|(_, list)| *list == name)
                .map_or(name, |(el, _)| el);
            items.iter().try_for_each(|x| write_element(s, el, x))
        }
        Value::Object(m) => {
            s.push('<');
            s.push_str(name);
            s.push('>');
            for (k, x) in m {
                write_element(s, k, x)?;
            }
            s.push_str("</");
            s.push_str(name);
            s.push('>');
            Ok(())
        }
        Value::String(t) => write_text(s, name, t),
        Value::Bool(_) | Value::Number(_) => write_text(s, name, &v.to_string()),
    }
}

fn write_text(s: &mut String, name: &str, t: &str) -> Result<(), String> {
    if t.chars()
        .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!("{name}: a control character XML cannot carry"));
    }
    s.push('<');
    s.push_str(name);
    s.push('>');
    s.push_str(&quick_xml::escape::escape(t));
    s.push_str("</");
    s.push_str(name);
    s.push('>');
    Ok(())
}
