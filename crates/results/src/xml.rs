//! A small element tree over quick-xml, enough for the result formats we read (NIST ERR,
//! Clarity). Namespaces are dropped (local names only); text is unescaped and kept exactly in leaf elements.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::{ImportError, Location, ProblemKind};

/// Elements nest at most this deep.
pub const XML_DEPTH_MAX: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
    /// Byte offset of the start tag.
    pub byte: u64,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

fn local(name: &[u8]) -> String {
    let n = match name.iter().rposition(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    };
    String::from_utf8_lossy(n).into_owned()
}

fn start(e: &BytesStart<'_>, byte: u64) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key = a.key.as_ref();
        if key.starts_with(b"xmlns") {
            continue;
        }
        let v = a.unescape_value().map_err(|e| e.to_string())?;
        attrs.push((local(key), v.into_owned()));
    }
    Ok(Element {
        name: local(e.name().as_ref()),
        attrs,
        text: String::new(),
        children: Vec::new(),
        byte,
    })
}

/// Parses a whole document into its root element.
pub(crate) fn parse(source_name: &str, bytes: &[u8]) -> Result<Element, ImportError> {
    let mut reader = Reader::from_reader(bytes);
    let mut stack: Vec<Element> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let err = |path: &[String], byte: u64, msg: String| {
        ImportError::one(
            source_name,
            Location::XmlElement {
                path: format!("/{}", path.join("/")),
                byte: Some(byte),
            },
            ProblemKind::Syntax(msg),
        )
    };
    let mut buf = Vec::new();
    loop {
        let byte = reader.buffer_position();
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| err(&path, byte, e.to_string()))?;
        match ev {
            Event::Start(e) => {
                let el = start(&e, byte).map_err(|m| err(&path, byte, m))?;
                path.push(el.name.clone());
                if stack.len() >= XML_DEPTH_MAX {
                    return Err(err(
                        &path,
                        byte,
                        format!("nested deeper than {XML_DEPTH_MAX}"),
                    ));
                }
                stack.push(el);
            }
            Event::Empty(e) => {
                let el = start(&e, byte).map_err(|m| err(&path, byte, m))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t.unescape().map_err(|e| err(&path, byte, e.to_string()))?;
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(_) => {
                path.pop();
                let Some(mut done) = stack.pop() else {
                    return Err(err(&path, byte, "unbalanced end tag".into()));
                };
                // Text beside child elements is indentation; leaf text is kept exactly.
                if !done.children.is_empty() {
                    done.text.clear();
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::Eof => return Err(err(&path, byte, "unexpected end of document".into())),
            _ => {}
        }
        buf.clear();
    }
}

/// Escapes text for element content and attribute values.
pub(crate) fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}
