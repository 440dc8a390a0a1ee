//! A small JSON tree printed as Jackson's `DefaultPrettyPrinter` with keys sorted
//! (`ORDER_MAP_ENTRIES_BY_KEYS`), which is how RCTab writes its reports.

use crate::decimal::Dec;
use crate::java;

/// A JSON value.
#[derive(Clone, Debug)]
pub enum Json {
    Str(String),
    Int(i128),
    Null,
    Arr(Vec<Json>),
    /// Entries are sorted by key when printed.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// A string value.
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }
    /// A decimal, written as its `BigDecimal.toString()` in a string (RCTab's serializer).
    pub fn dec(d: Dec) -> Json {
        Json::Str(d.to_string())
    }
    /// An object from owned keys.
    pub fn obj(entries: Vec<(String, Json)>) -> Json {
        Json::Obj(entries)
    }
    /// An object from static keys.
    pub fn obj_str(entries: Vec<(&str, Json)>) -> Json {
        Json::Obj(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// Pretty-printed text.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Json::Str(s) => write_str(out, s),
            Json::Int(i) => out.push_str(&i.to_string()),
            Json::Null => out.push_str("null"),
            Json::Arr(items) => {
                if items.is_empty() {
                    out.push_str("[ ]");
                    return;
                }
                out.push_str("[ ");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out, indent);
                }
                out.push_str(" ]");
            }
            Json::Obj(entries) => {
                if entries.is_empty() {
                    out.push_str("{ }");
                    return;
                }
                let mut sorted: Vec<&(String, Json)> = entries.iter().collect();
                sorted.sort_by(|a, b| java::compare_strings(&a.0, &b.0));
                out.push('{');
                for (i, (k, v)) in sorted.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent + 1));
                    write_str(out, k);
                    out.push_str(" : ");
                    v.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
