//! Voter-file formats, encoded and decoded by hand (no derives on the core's types):
//!
//! - **CSV, urne layout** ([`CSV_COLUMNS`], one header line, UTF-8). Empty cells are absent
//!   values. `districts` is `kind:id` pairs separated by `;` (kinds: [`DISTRICT_KINDS`]);
//!   `history` is `election-id:YYYY-MM-DD:method` separated by `;` (methods: [`METHODS`]);
//!   `status` is `active`, `inactive` or `cancelled` with `status_reason` naming the inactive
//!   or removal reason; dates are `YYYY-MM-DD`; `phone` is 10 digits.
//! - **A mapping file** for a state's own CSV layout: `urne_column = their header` per line,
//!   `#` comments. Unmapped urne columns are read from a header of the same name.
//! - **NIST SP 1500-102 style JSON**: `{"VoterRecords": [ {...} ]}`, each record with the VRI
//!   element names (`VoterId` list of `{Type, StringValue}` with types
//!   `local-voter-registration-id`, `drivers-license`, `ssn4`; `Name`; `ResidenceAddress`;
//!   `MailingAddress`; `DateOfBirth`; `ContactMethod` list of `{Type: phone|email, Value}`;
//!   `Party`; `VoterStatus`, `StatusReason`; `RegistrationDate`; `Precinct`; `Districts`;
//!   `PreferredLanguage`; `VoterParticipation`). A subset of the VRI model: the fields urne keeps.
//!   Errors name the JSON path. `urne roll export --format json` writes the schema's own
//!   `VRI.VoterRecordResults` instead ([`crate::vri::record_to_vri_json`]); import reads both.
//!
//! Every error names the column or path and the rule, never the value.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use urne_roll::audit::{AdditionSource, UpdateReason};
use urne_roll::record::{
    Address, District, DistrictKind, InactiveReason, Name, Participation, Party, RemovalReason,
    Sensitive, Status, VoteMethod,
};
use urne_roll::{Date, ReasonCode, VoterRecord};
use urne_roll_store::VoterView;

/// The urne CSV layout's columns, in order.
pub const CSV_COLUMNS: [&str; 30] = [
    "voter_id",
    "first",
    "middle",
    "last",
    "suffix",
    "res_line1",
    "res_line2",
    "res_city",
    "res_state",
    "res_zip",
    "res_zip4",
    "mail_line1",
    "mail_line2",
    "mail_city",
    "mail_state",
    "mail_zip",
    "mail_zip4",
    "dob",
    "dl_number",
    "ssn4",
    "phone",
    "email",
    "party",
    "status",
    "status_reason",
    "registered_on",
    "precinct",
    "districts",
    "language",
    "history",
];

/// District kind names.
pub const DISTRICT_KINDS: [(DistrictKind, &str); 8] = [
    (DistrictKind::Congressional, "congressional"),
    (DistrictKind::StateSenate, "state-senate"),
    (DistrictKind::StateHouse, "state-house"),
    (DistrictKind::CountyCouncil, "county-council"),
    (DistrictKind::CityCouncil, "city-council"),
    (DistrictKind::School, "school"),
    (DistrictKind::Judicial, "judicial"),
    (DistrictKind::Special, "special"),
];

/// Vote method names.
pub const METHODS: [(VoteMethod, &str); 4] = [
    (VoteMethod::ElectionDay, "election-day"),
    (VoteMethod::Early, "early"),
    (VoteMethod::Mail, "mail"),
    (VoteMethod::Provisional, "provisional"),
];

const INACTIVE: [(InactiveReason, &str); 2] = [
    (
        InactiveReason::ConfirmationNoticeSent,
        "confirmation-notice-sent",
    ),
    (InactiveReason::MailReturned, "mail-returned"),
];

/// Bytes in a mapping file.
pub const MAPPING_BYTES_MAX: usize = 64 * 1024;

/// The addition source named `name` (`mail`, `motor-vehicle`, `agency`, `online`,
/// `in-person`).
pub fn addition_source(name: &str) -> Option<AdditionSource> {
    ReasonCode::all().into_iter().find_map(|r| match r {
        ReasonCode::Add(s) if r.name() == format!("add/{name}") => Some(s),
        _ => None,
    })
}

/// The update reason named `name` (`address`, `name`, `party`, `correction`, ...).
pub fn update_reason(name: &str) -> Option<UpdateReason> {
    ReasonCode::all().into_iter().find_map(|r| match r {
        ReasonCode::Update(u) if r.name() == format!("change/{name}") => Some(u),
        _ => None,
    })
}

fn removal(name: &str) -> Option<RemovalReason> {
    urne_roll_store::REMOVAL_REASONS
        .into_iter()
        .find(|r| r.name() == name)
}

fn status_parts(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Active => ("active", ""),
        Status::Inactive(r) => (
            "inactive",
            INACTIVE.iter().find(|x| x.0 == r).map_or("", |x| x.1),
        ),
        Status::Cancelled(r) => ("cancelled", r.name()),
    }
}

fn parse_status(status: &str, reason: &str) -> Result<Status, String> {
    match status {
        "active" => Ok(Status::Active),
        "inactive" => INACTIVE
            .iter()
            .find(|x| x.1 == reason)
            .map(|x| Status::Inactive(x.0))
            .ok_or_else(|| "status_reason: unknown inactive reason".into()),
        "cancelled" => removal(reason)
            .map(Status::Cancelled)
            .ok_or_else(|| "status_reason: unknown removal reason".into()),
        _ => Err("status: expected active, inactive or cancelled".into()),
    }
}

fn date(s: &str, field: &'static str) -> Result<Date, String> {
    Date::parse_iso(s, field).map_err(|e| e.to_string())
}

fn districts_text(ds: &[District]) -> String {
    ds.iter()
        .map(|d| {
            let k = DISTRICT_KINDS
                .iter()
                .find(|x| x.0 == d.kind)
                .map_or("", |x| x.1);
            format!("{k}:{}", d.id)
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn parse_districts(s: &str) -> Result<Vec<District>, String> {
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, id) = p.split_once(':').ok_or("districts: expected kind:id")?;
            let kind = DISTRICT_KINDS
                .iter()
                .find(|x| x.1 == k)
                .ok_or("districts: unknown district kind")?
                .0;
            Ok(District {
                kind,
                id: id.to_owned(),
            })
        })
        .collect()
}

fn history_text(h: &[Participation]) -> String {
    h.iter()
        .map(|p| {
            let m = METHODS.iter().find(|x| x.0 == p.method).map_or("", |x| x.1);
            format!("{}:{}:{m}", p.election_id, p.date)
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn parse_history(s: &str) -> Result<Vec<Participation>, String> {
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut it = p.split(':');
            let (Some(id), Some(d), Some(m), None) = (it.next(), it.next(), it.next(), it.next())
            else {
                return Err("history: expected election-id:YYYY-MM-DD:method".to_owned());
            };
            Ok(Participation {
                election_id: id.to_owned(),
                date: date(d, "history.date")?,
                method: METHODS
                    .iter()
                    .find(|x| x.1 == m)
                    .ok_or("history: unknown vote method")?
                    .0,
            })
        })
        .collect()
}

/// One record as CSV cells in [`CSV_COLUMNS`] order.
pub fn record_to_csv(r: &VoterRecord) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let (a, m) = (&r.residence, r.mailing.clone().unwrap_or_default());
    let has_mail = r.mailing.is_some();
    let mo = |v: String| if has_mail { v } else { String::new() };
    let (status, reason) = status_parts(r.status);
    let s = &r.sensitive;
    vec![
        r.voter_id.clone(),
        r.name.first.clone(),
        o(&r.name.middle),
        r.name.last.clone(),
        o(&r.name.suffix),
        a.line1.clone(),
        o(&a.line2),
        a.city.clone(),
        a.state.clone(),
        a.zip.clone(),
        o(&a.zip4),
        mo(m.line1.clone()),
        o(&m.line2),
        mo(m.city.clone()),
        mo(m.state.clone()),
        mo(m.zip.clone()),
        o(&m.zip4),
        s.dob.to_string(),
        o(&s.dl_number),
        o(&s.ssn4),
        o(&s.phone),
        o(&s.email),
        r.party.as_ref().map(|p| p.0.clone()).unwrap_or_default(),
        status.to_owned(),
        reason.to_owned(),
        r.registered_on.to_string(),
        r.precinct.clone(),
        districts_text(&r.districts),
        r.language.clone(),
        history_text(&r.history),
    ]
}

/// Where each urne column is in a file's header.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    index: Vec<Option<usize>>,
}

/// Parses a mapping file into `urne column → their header`.
pub fn parse_mapping(text: &str) -> Result<HashMap<String, String>, String> {
    if text.len() > MAPPING_BYTES_MAX {
        return Err(format!("mapping file over {MAPPING_BYTES_MAX} bytes"));
    }
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (ours, theirs) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected `urne_column = their header`", i + 1))?;
        let ours = ours.trim();
        if !CSV_COLUMNS.contains(&ours) {
            return Err(format!("line {}: unknown urne column {ours:?}", i + 1));
        }
        out.insert(ours.to_owned(), theirs.trim().to_owned());
    }
    Ok(out)
}

impl CsvLayout {
    /// Finds the columns in `header`, through `mapping` where given. Required columns must be
    /// present.
    pub fn from_header(
        header: &csv::StringRecord,
        mapping: &HashMap<String, String>,
    ) -> Result<CsvLayout, String> {
        let mut index = Vec::new();
        for col in CSV_COLUMNS {
            let name = mapping.get(col).map_or(col, String::as_str);
            let at = header.iter().position(|h| h.trim() == name);
            let required = matches!(
                col,
                "voter_id"
                    | "first"
                    | "last"
                    | "res_line1"
                    | "res_city"
                    | "res_state"
                    | "res_zip"
                    | "dob"
                    | "status"
                    | "registered_on"
                    | "precinct"
            );
            if at.is_none() && required {
                return Err(format!("header: required column {name:?} ({col}) missing"));
            }
            index.push(at);
        }
        Ok(CsvLayout { index })
    }

    /// Decodes one row; the error names the column.
    pub fn record(&self, row: &csv::StringRecord) -> Result<VoterRecord, String> {
        let cell = |col: &str| -> &str {
            let i = CSV_COLUMNS.iter().position(|c| *c == col).unwrap_or(0);
            self.index[i].and_then(|j| row.get(j)).map_or("", str::trim)
        };
        let opt = |col: &str| Some(cell(col).to_owned()).filter(|s| !s.is_empty());
        let addr = |p: &str| Address {
            line1: cell(&format!("{p}_line1")).to_owned(),
            line2: opt(&format!("{p}_line2")),
            city: cell(&format!("{p}_city")).to_owned(),
            state: cell(&format!("{p}_state")).to_owned(),
            zip: cell(&format!("{p}_zip")).to_owned(),
            zip4: opt(&format!("{p}_zip4")),
        };
        let phone = opt("phone").map(|p| p.chars().filter(char::is_ascii_digit).collect());
        let r = VoterRecord {
            voter_id: cell("voter_id").to_owned(),
            name: Name {
                first: cell("first").to_owned(),
                middle: opt("middle"),
                last: cell("last").to_owned(),
                suffix: opt("suffix"),
            },
            residence: addr("res"),
            mailing: opt("mail_line1").map(|_| addr("mail")),
            sensitive: Sensitive {
                dob: date(cell("dob"), "dob")?,
                dl_number: opt("dl_number"),
                ssn4: opt("ssn4"),
                phone,
                email: opt("email"),
            },
            party: opt("party").map(Party),
            status: parse_status(cell("status"), cell("status_reason"))?,
            registered_on: date(cell("registered_on"), "registered_on")?,
            precinct: cell("precinct").to_owned(),
            districts: parse_districts(cell("districts"))?,
            language: opt("language").unwrap_or_else(|| "en".into()),
            history: parse_history(cell("history"))?,
        };
        r.validate().map_err(|e| e.to_string())?;
        Ok(r)
    }
}

fn addr_json(a: &Address) -> Value {
    json!({
        "StreetAddress": a.line1, "Unit": a.line2, "City": a.city,
        "State": a.state, "Zip": a.zip, "Zip4": a.zip4,
    })
}

/// One record as NIST SP 1500-102 style JSON.
pub fn record_to_json(r: &VoterRecord) -> Value {
    let s = &r.sensitive;
    let mut ids = vec![json!({"Type": "local-voter-registration-id", "StringValue": r.voter_id})];
    if let Some(dl) = &s.dl_number {
        ids.push(json!({"Type": "drivers-license", "StringValue": dl}));
    }
    if let Some(x) = &s.ssn4 {
        ids.push(json!({"Type": "ssn4", "StringValue": x}));
    }
    let mut contact = Vec::new();
    if let Some(p) = &s.phone {
        contact.push(json!({"Type": "phone", "Value": p}));
    }
    if let Some(e) = &s.email {
        contact.push(json!({"Type": "email", "Value": e}));
    }
    let mut v = clear_json(r.voter_id.as_str(), &ClearRef::of(r));
    if let Value::Object(m) = &mut v {
        m.insert("VoterId".into(), Value::Array(ids));
        m.insert("DateOfBirth".into(), json!(s.dob.to_string()));
        m.insert("ContactMethod".into(), Value::Array(contact));
    }
    v
}

struct ClearRef<'a> {
    name: &'a Name,
    residence: &'a Address,
    mailing: &'a Option<Address>,
    party: &'a Option<Party>,
    status: Status,
    registered_on: Date,
    precinct: &'a str,
    districts: &'a [District],
    language: &'a str,
    history: &'a [Participation],
}

impl<'a> ClearRef<'a> {
    fn of(r: &'a VoterRecord) -> Self {
        ClearRef {
            name: &r.name,
            residence: &r.residence,
            mailing: &r.mailing,
            party: &r.party,
            status: r.status,
            registered_on: r.registered_on,
            precinct: &r.precinct,
            districts: &r.districts,
            language: &r.language,
            history: &r.history,
        }
    }
}

fn clear_json(voter_id: &str, c: &ClearRef<'_>) -> Value {
    let (status, reason) = status_parts(c.status);
    let districts: Vec<Value> = c
        .districts
        .iter()
        .map(|d| {
            let k = DISTRICT_KINDS
                .iter()
                .find(|x| x.0 == d.kind)
                .map_or("", |x| x.1);
            json!({"Type": k, "Id": d.id})
        })
        .collect();
    let history: Vec<Value> = c
        .history
        .iter()
        .map(|p| {
            let m = METHODS.iter().find(|x| x.0 == p.method).map_or("", |x| x.1);
            json!({"ElectionId": p.election_id, "Date": p.date.to_string(), "Method": m})
        })
        .collect();
    json!({
        "VoterId": [{"Type": "local-voter-registration-id", "StringValue": voter_id}],
        "Name": {
            "FirstName": c.name.first, "MiddleName": c.name.middle,
            "LastName": c.name.last, "Suffix": c.name.suffix,
        },
        "ResidenceAddress": addr_json(c.residence),
        "MailingAddress": c.mailing.as_ref().map(addr_json),
        "Party": c.party.as_ref().map(|p| json!({"Abbreviation": p.0})),
        "VoterStatus": status,
        "StatusReason": if reason.is_empty() { Value::Null } else { json!(reason) },
        "RegistrationDate": c.registered_on.to_string(),
        "Precinct": c.precinct,
        "Districts": districts,
        "PreferredLanguage": c.language,
        "VoterParticipation": history,
    })
}

/// A staff view of a record: clear fields always, sealed ones only when opened.
pub fn view_to_json(v: &VoterView) -> Value {
    let c = &v.clear;
    let clear = ClearRef {
        name: &c.name,
        residence: &c.residence,
        mailing: &c.mailing,
        party: &c.party,
        status: c.status,
        registered_on: c.registered_on,
        precinct: &c.precinct,
        districts: &c.districts,
        language: &c.language,
        history: &c.history,
    };
    let mut out = clear_json(&c.voter_id, &clear);
    if let (Value::Object(m), Some(s)) = (&mut out, &v.sensitive) {
        let record = VoterRecord {
            voter_id: c.voter_id.clone(),
            name: c.name.clone(),
            residence: c.residence.clone(),
            mailing: c.mailing.clone(),
            sensitive: s.clone(),
            party: c.party.clone(),
            status: c.status,
            registered_on: c.registered_on,
            precinct: c.precinct.clone(),
            districts: c.districts.clone(),
            language: c.language.clone(),
            history: c.history.clone(),
        };
        if let Value::Object(full) = record_to_json(&record) {
            for k in ["VoterId", "DateOfBirth", "ContactMethod"] {
                if let Some(x) = full.get(k) {
                    m.insert(k.into(), x.clone());
                }
            }
        }
    }
    if let Value::Object(m) = &mut out {
        m.insert("HistoryEvents".into(), json!(v.history_events));
    }
    out
}

fn get_str(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{path}.{key}: expected a string")),
    }
}

fn req_str(m: &Map<String, Value>, key: &str, path: &str) -> Result<String, String> {
    get_str(m, key, path)?.ok_or_else(|| format!("{path}.{key}: required"))
}

fn obj<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{path}: expected an object"))
}

fn arr<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a [Value], String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(format!("{path}.{key}: expected an array")),
    }
}

fn addr_from(v: &Value, path: &str) -> Result<Address, String> {
    let m = obj(v, path)?;
    Ok(Address {
        line1: req_str(m, "StreetAddress", path)?,
        line2: get_str(m, "Unit", path)?,
        city: req_str(m, "City", path)?,
        state: req_str(m, "State", path)?,
        zip: req_str(m, "Zip", path)?,
        zip4: get_str(m, "Zip4", path)?,
    })
}

/// Decodes one NIST-style JSON record at `path`; errors name the JSON path.
pub fn record_from_json(v: &Value, path: &str) -> Result<VoterRecord, String> {
    let m = obj(v, path)?;
    let (mut voter_id, mut dl, mut ssn4) = (None, None, None);
    for (i, id) in arr(m, "VoterId", path)?.iter().enumerate() {
        let p = format!("{path}.VoterId[{i}]");
        let o = obj(id, &p)?;
        let value = req_str(o, "StringValue", &p)?;
        match req_str(o, "Type", &p)?.as_str() {
            "local-voter-registration-id" => voter_id = Some(value),
            "drivers-license" | "state-id" => dl = Some(value),
            "ssn4" => ssn4 = Some(value),
            _ => return Err(format!("{p}.Type: unknown id type")),
        }
    }
    let (mut phone, mut email) = (None, None);
    for (i, c) in arr(m, "ContactMethod", path)?.iter().enumerate() {
        let p = format!("{path}.ContactMethod[{i}]");
        let o = obj(c, &p)?;
        let value = req_str(o, "Value", &p)?;
        match req_str(o, "Type", &p)?.as_str() {
            "phone" => phone = Some(value.chars().filter(char::is_ascii_digit).collect()),
            "email" => email = Some(value),
            _ => return Err(format!("{p}.Type: unknown contact type")),
        }
    }
    let np = format!("{path}.Name");
    let name = obj(m.get("Name").unwrap_or(&Value::Null), &np)?;
    let mut districts = Vec::new();
    for (i, d) in arr(m, "Districts", path)?.iter().enumerate() {
        let p = format!("{path}.Districts[{i}]");
        let o = obj(d, &p)?;
        let k = req_str(o, "Type", &p)?;
        let kind = DISTRICT_KINDS
            .iter()
            .find(|x| x.1 == k)
            .ok_or_else(|| format!("{p}.Type: unknown district kind"))?
            .0;
        districts.push(District {
            kind,
            id: req_str(o, "Id", &p)?,
        });
    }
    let mut history = Vec::new();
    for (i, h) in arr(m, "VoterParticipation", path)?.iter().enumerate() {
        let p = format!("{path}.VoterParticipation[{i}]");
        let o = obj(h, &p)?;
        let meth = req_str(o, "Method", &p)?;
        history.push(Participation {
            election_id: req_str(o, "ElectionId", &p)?,
            date: date(&req_str(o, "Date", &p)?, "Date").map_err(|e| format!("{p}: {e}"))?,
            method: METHODS
                .iter()
                .find(|x| x.1 == meth)
                .ok_or_else(|| format!("{p}.Method: unknown method"))?
                .0,
        });
    }
    let party = match m.get("Party") {
        None | Some(Value::Null) => None,
        Some(p) => Some(Party(req_str(
            obj(p, &format!("{path}.Party"))?,
            "Abbreviation",
            &format!("{path}.Party"),
        )?)),
    };
    let mailing = match m.get("MailingAddress") {
        None | Some(Value::Null) => None,
        Some(a) => Some(addr_from(a, &format!("{path}.MailingAddress"))?),
    };
    let status = parse_status(
        &req_str(m, "VoterStatus", path)?,
        &get_str(m, "StatusReason", path)?.unwrap_or_default(),
    )
    .map_err(|e| format!("{path}: {e}"))?;
    let d = |key: &str| -> Result<Date, String> {
        date(&req_str(m, key, path)?, "date").map_err(|e| format!("{path}.{key}: {e}"))
    };
    let r = VoterRecord {
        voter_id: voter_id
            .ok_or_else(|| format!("{path}.VoterId: no local-voter-registration-id"))?,
        name: Name {
            first: req_str(name, "FirstName", &np)?,
            middle: get_str(name, "MiddleName", &np)?,
            last: req_str(name, "LastName", &np)?,
            suffix: get_str(name, "Suffix", &np)?,
        },
        residence: addr_from(
            m.get("ResidenceAddress").unwrap_or(&Value::Null),
            &format!("{path}.ResidenceAddress"),
        )?,
        mailing,
        sensitive: Sensitive {
            dob: d("DateOfBirth")?,
            dl_number: dl,
            ssn4,
            phone,
            email,
        },
        party,
        status,
        registered_on: d("RegistrationDate")?,
        precinct: req_str(m, "Precinct", path)?,
        districts,
        language: get_str(m, "PreferredLanguage", path)?.unwrap_or_else(|| "en".into()),
        history,
    };
    r.validate().map_err(|e| format!("{path}: {e}"))?;
    Ok(r)
}
