//! NIST SP 1500-102 Voter Records Interchange (VRI) XML: a `VoterRecordsResponse` of type
//! `VoterRecordResults` holding one `VoterRecord` per voter, valid against the shipped VRI
//! schema (v1.0.3, `NIST_V0_voter_records_interchange.xsd`, with the FGDC address types it
//! imports; `crates/roll-server/tests/xml.rs` checks it with `xmllint`).
//!
//! Where urne's fields sit in the VRI model:
//!
//! | urne | VRI |
//! |---|---|
//! | voter id, licence, SSN4 | `Voter/VoterId` (`local-voter-registration-id`, `drivers-license`, `ssn4`) |
//! | name | `Voter/Name` (`FirstName`, `LastName`, `MiddleName`, `Suffix`) |
//! | residence, mailing | `Voter/ResidenceAddress`, `Voter/MailingAddress` as FGDC `GeneralAddressClass_type`: `USPSGeneralDeliveryPoint` (line 1), `CompletePlaceName/PlaceName` (city), `StateName`, `ZipCode`, `ZipPlus4` |
//! | date of birth, phone, email | `Voter/DateOfBirth`, `Voter/ContactMethod` (`phone`, `email`) |
//! | party | `Voter/Party` (`Abbreviation`, and `Name`, which VRI requires, the same) |
//! | status | `VoterStatus` `active` / `inactive`; cancelled is `other` with `OtherVoterStatus` `cancelled` |
//! | precinct | `Locality` of `Type` `precinct`, its code as a `local-level` `ExternalIdentifier` |
//! | districts | `District` (`IsDistricted`, `Type`, the id as a `local-level` `ExternalIdentifier`) |
//! | voting history | `VoterParticipation/Election` (`StartDate`, the election id as a `local-level` `ExternalIdentifier`, the method as an `other` one named [`METHOD_ID`]) |
//! | registration date, status reason, preferred language, address units | VRI has no element for these: `Voter/VoterClassification` with `Type` `other`, `Assertion` `other`, `OtherType` naming the fact ([`FACTS`]) and `OtherAssertion` holding it |
//!
//! Reading goes through the same document parser as the older `VoterRecords` form
//! ([`crate::xml::records_from_xml`] picks by the root element) and then through the JSON
//! form's decoder, so every rule and limit is the same. Errors name the record's element path
//! and the field, never the value.

use serde_json::{Map, Value, json};
use urne_roll::VoterRecord;
use urne_roll::record::Address;

use crate::format;

/// The VRI namespace (SP 1500-102 v1).
pub const VRI_NAMESPACE: &str = "http://itl.nist.gov/ns/voting/1500-102/v1";

/// The document's opening, before the records.
pub const VRI_HEAD: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
    "<VoterRecordsResponse xmlns=\"http://itl.nist.gov/ns/voting/1500-102/v1\" ",
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ",
    "xmlns:addr=\"http://www.fgdc.gov/schemas/address/addr\" ",
    "xmlns:addr_type=\"http://www.fgdc.gov/schemas/address/addr_type\" ",
    "xsi:type=\"VoterRecordResults\">\n"
);
/// The document's close, after the records.
pub const VRI_TAIL: &str = "</VoterRecordsResponse>\n";

/// `OtherType` of the participation `ExternalIdentifier` that names how the ballot was cast.
pub const METHOD_ID: &str = "vote-method";

/// The `VoterClassification` facts (`OtherType`) urne writes for fields VRI has no element for,
/// with the JSON form's member each one fills.
pub const FACTS: [(&str, &str); 5] = [
    ("registration-date", "RegistrationDate"),
    ("status-reason", "StatusReason"),
    ("preferred-language", "PreferredLanguage"),
    ("residence-address-unit", "ResidenceAddress.Unit"),
    ("mailing-address-unit", "MailingAddress.Unit"),
];

/// One record as a VRI `VoterRecord` element (one line), or the field XML 1.0 cannot carry (a
/// control character).
pub fn record_to_vri(r: &VoterRecord) -> Result<String, String> {
    let j = format::record_to_json(r);
    let get = |k: &str| j.get(k).and_then(Value::as_str).unwrap_or("");
    let mut x = Xml(String::with_capacity(2048));
    x.open("VoterRecord");
    for d in j["Districts"].as_array().into_iter().flatten() {
        x.open("District");
        external_id(&mut x, None, "local-level", str_of(&d["Id"]))?;
        x.text("IsDistricted", "true")?;
        x.text("Type", str_of(&d["Type"]))?;
        x.close("District");
    }
    x.open("Locality");
    external_id(&mut x, None, "local-level", get("Precinct"))?;
    x.text("Type", "precinct")?;
    x.close("Locality");
    let status = get("VoterStatus");
    if status == "cancelled" {
        x.text("OtherVoterStatus", "cancelled")?;
    }
    x.open("Voter");
    for c in j["ContactMethod"].as_array().into_iter().flatten() {
        x.open("ContactMethod");
        x.text("Type", str_of(&c["Type"]))?;
        x.text("Value", str_of(&c["Value"]))?;
        x.close("ContactMethod");
    }
    x.text("DateOfBirth", get("DateOfBirth"))?;
    if let Some(m) = &r.mailing {
        address(&mut x, "MailingAddress", m)?;
    }
    x.open("Name");
    x.text("FirstName", &r.name.first)?;
    x.text("LastName", &r.name.last)?;
    if let Some(m) = &r.name.middle {
        x.text("MiddleName", m)?;
    }
    if let Some(s) = &r.name.suffix {
        x.text("Suffix", s)?;
    }
    x.close("Name");
    if let Some(p) = &r.party {
        x.open("Party");
        x.text("Abbreviation", &p.0)?;
        x.text("Name", &p.0)?;
        x.close("Party");
    }
    address(&mut x, "ResidenceAddress", &r.residence)?;
    let unit = |a: Option<&Address>| a.and_then(|a| a.line2.clone()).unwrap_or_default();
    let facts = [
        get("RegistrationDate").to_owned(),
        get("StatusReason").to_owned(),
        get("PreferredLanguage").to_owned(),
        unit(Some(&r.residence)),
        unit(r.mailing.as_ref()),
    ];
    for ((name, _), value) in FACTS.iter().zip(&facts) {
        if value.is_empty() {
            continue;
        }
        x.open("VoterClassification");
        x.text("Assertion", "other")?;
        x.text("OtherAssertion", value)?;
        x.text("OtherType", name)?;
        x.text("Type", "other")?;
        x.close("VoterClassification");
    }
    for id in j["VoterId"].as_array().into_iter().flatten() {
        x.open("VoterId");
        x.text("StringValue", str_of(&id["StringValue"]))?;
        x.text("Type", str_of(&id["Type"]))?;
        x.close("VoterId");
    }
    x.close("Voter");
    for p in j["VoterParticipation"].as_array().into_iter().flatten() {
        x.open("VoterParticipation");
        x.open("Election");
        external_id(&mut x, None, "local-level", str_of(&p["ElectionId"]))?;
        external_id(&mut x, Some(METHOD_ID), "other", str_of(&p["Method"]))?;
        x.text("StartDate", str_of(&p["Date"]))?;
        x.close("Election");
        x.close("VoterParticipation");
    }
    x.text(
        "VoterStatus",
        if status == "cancelled" {
            "other"
        } else {
            status
        },
    )?;
    x.close("VoterRecord");
    x.0.push('\n');
    Ok(x.0)
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn external_id(x: &mut Xml, other: Option<&str>, kind: &str, value: &str) -> Result<(), String> {
    x.open("ExternalIdentifier");
    if let Some(o) = other {
        x.text("OtherType", o)?;
    }
    x.text("Type", kind)?;
    x.text("Value", value)?;
    x.close("ExternalIdentifier");
    Ok(())
}

fn address(x: &mut Xml, name: &str, a: &Address) -> Result<(), String> {
    x.open(name);
    x.open("GeneralAddressClass_type");
    x.text("addr:USPSGeneralDeliveryPoint", &a.line1)?;
    x.open("addr_type:CompletePlaceName");
    x.0.push_str("<addr_type:PlaceName PlaceNameType=\"MunicipalJurisdiction\">");
    x.escaped("PlaceName", &a.city)?;
    x.close("addr_type:PlaceName");
    x.close("addr_type:CompletePlaceName");
    x.text("addr_type:StateName", &a.state)?;
    x.text("addr_type:ZipCode", &a.zip)?;
    if let Some(z) = &a.zip4 {
        x.text("addr_type:ZipPlus4", z)?;
    }
    x.close("GeneralAddressClass_type");
    x.close(name);
    Ok(())
}

struct Xml(String);

impl Xml {
    fn open(&mut self, name: &str) {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
    }

    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }

    fn text(&mut self, name: &str, t: &str) -> Result<(), String> {
        self.open(name);
        self.escaped(name, t)?;
        self.close(name);
        Ok(())
    }

    fn escaped(&mut self, name: &str, t: &str) -> Result<(), String> {
        if t.chars()
            .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(format!("{name}: a control character XML cannot carry"));
        }
        self.0.push_str(&quick_xml::escape::escape(t));
        Ok(())
    }
}

/// Decodes one VRI `VoterRecord` (as the document parser built it: elements as members, the
/// repeated ones as lists) by the JSON form's rules. `path` names the record.
pub fn record_from_vri(v: &Value, path: &str) -> Result<VoterRecord, String> {
    let json = vri_to_json(v, path)?;
    format::record_from_json(&json, path)
}

fn obj<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{path}: expected child elements"))
}

fn list<'a>(m: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    m.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

/// The `ExternalIdentifier` value of `kind` (and, for `other`, `OtherType` `other_type`).
fn id_of<'a>(m: &'a Map<String, Value>, kind: &str, other_type: Option<&str>) -> Option<&'a str> {
    list(m, "ExternalIdentifier").iter().find_map(|e| {
        let e = e.as_object()?;
        (text(e, "Type") == Some(kind)
            && other_type.is_none_or(|o| text(e, "OtherType") == Some(o)))
        .then(|| text(e, "Value"))
        .flatten()
    })
}

fn vri_to_json(v: &Value, path: &str) -> Result<Value, String> {
    let rec = obj(v, path)?;
    let voter = obj(
        rec.get("Voter")
            .ok_or_else(|| format!("{path}/Voter: missing"))?,
        &format!("{path}/Voter"),
    )?;
    let facts: Vec<(&str, &str)> = list(voter, "VoterClassification")
        .iter()
        .filter_map(|c| {
            let c = c.as_object()?;
            Some((text(c, "OtherType")?, text(c, "OtherAssertion")?))
        })
        .collect();
    let fact = |name: &str| {
        facts
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| Value::String((*value).to_owned()))
            .unwrap_or(Value::Null)
    };
    let addr = |key: &str, unit: &str| -> Result<Value, String> {
        let Some(a) = voter.get(key) else {
            return Ok(Value::Null);
        };
        let at = format!("{path}/Voter/{key}");
        let a = obj(a, &at)?;
        let Some(g) = a.get("GeneralAddressClass_type") else {
            return Err(format!(
                "{at}: only GeneralAddressClass_type addresses (USPSGeneralDeliveryPoint, \
                 CompletePlaceName, StateName, ZipCode) are read"
            ));
        };
        let g = obj(g, &format!("{at}/GeneralAddressClass_type"))?;
        let city = g
            .get("CompletePlaceName")
            .and_then(Value::as_object)
            .map(|p| list(p, "PlaceName"))
            .and_then(|names| names.first())
            .cloned()
            .unwrap_or(Value::Null);
        Ok(json!({
            "StreetAddress": g.get("USPSGeneralDeliveryPoint"),
            "Unit": fact(unit),
            "City": city,
            "State": g.get("StateName"),
            "Zip": g.get("ZipCode"),
            "Zip4": g.get("ZipPlus4"),
        }))
    };
    let name = voter
        .get("Name")
        .map(|n| obj(n, &format!("{path}/Voter/Name")))
        .transpose()?;
    let name = name.map(|n| {
        let middle: Vec<&str> = list(n, "MiddleName")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        json!({
            "FirstName": n.get("FirstName"),
            "MiddleName": if middle.is_empty() { Value::Null } else { json!(middle.join(" ")) },
            "LastName": n.get("LastName"),
            "Suffix": n.get("Suffix"),
        })
    });
    let party = voter
        .get("Party")
        .and_then(Value::as_object)
        .map(|p| json!({"Abbreviation": p.get("Abbreviation").or_else(|| p.get("Name"))}));
    let status = match (text(rec, "VoterStatus"), text(rec, "OtherVoterStatus")) {
        (Some("other"), Some(other)) => Some(other),
        (s, _) => s,
    };
    let precinct = list(rec, "Locality")
        .iter()
        .filter_map(Value::as_object)
        .find(|l| text(l, "Type") == Some("precinct"))
        .and_then(|l| id_of(l, "local-level", None).or_else(|| text(l, "Name")));
    let districts: Vec<Value> = list(rec, "District")
        .iter()
        .filter_map(Value::as_object)
        .map(|d| json!({"Type": d.get("Type"), "Id": id_of(d, "local-level", None)}))
        .collect();
    let history: Vec<Value> = list(rec, "VoterParticipation")
        .iter()
        .filter_map(Value::as_object)
        .map(|p| {
            let e = p.get("Election").and_then(Value::as_object);
            json!({
                "ElectionId": e.and_then(|e| id_of(e, "local-level", None)),
                "Date": e.and_then(|e| e.get("StartDate")),
                "Method": e.and_then(|e| id_of(e, "other", Some(METHOD_ID))),
            })
        })
        .collect();
    let ids: Vec<Value> = list(voter, "VoterId")
        .iter()
        .filter_map(Value::as_object)
        .map(|i| json!({"Type": i.get("Type"), "StringValue": i.get("StringValue")}))
        .collect();
    let contact: Vec<Value> = list(voter, "ContactMethod")
        .iter()
        .filter_map(Value::as_object)
        .map(|c| json!({"Type": c.get("Type"), "Value": c.get("Value")}))
        .collect();
    Ok(json!({
        "VoterId": ids,
        "Name": name,
        "ResidenceAddress": addr("ResidenceAddress", "residence-address-unit")?,
        "MailingAddress": addr("MailingAddress", "mailing-address-unit")?,
        "DateOfBirth": voter.get("DateOfBirth"),
        "ContactMethod": contact,
        "Party": party,
        "VoterStatus": status,
        "StatusReason": fact("status-reason"),
        "RegistrationDate": fact("registration-date"),
        "Precinct": precinct,
        "Districts": districts,
        "PreferredLanguage": fact("preferred-language"),
        "VoterParticipation": history,
    }))
}

/// The VRI JSON form (the schema's `VRI.VoterRecordResults`): the same elements as the XML
/// form, every object with its `@type`, addresses as `addr.GeneralAddressClass_type` objects.
pub const VRI_JSON_TYPE: &str = "VRI.VoterRecordResults";

/// One record as a VRI JSON `VRI.VoterRecord` object (the same content as [`record_to_vri`]).
pub fn record_to_vri_json(r: &VoterRecord) -> Value {
    let j = format::record_to_json(r);
    let get = |k: &str| j.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let ext = |kind: &str, value: &str, other: Option<&str>| {
        let mut e = json!({"@type": "VRI.ExternalIdentifier", "Type": kind, "Value": value});
        if let Some(o) = other {
            e["OtherType"] = json!(o);
        }
        e
    };
    let addr = |a: &Address| {
        let mut v = json!({
            "@type": "addr.GeneralAddressClass_type",
            "USPSGeneralDeliveryPoint": a.line1,
            "CompletePlaceName": {
                "@type": "addr_type.CompletePlaceName_type",
                "PlaceName": [{
                    "@type": "addr_type.PlaceName_type",
                    "PlaceNameType": "MunicipalJurisdiction",
                    "Value": a.city,
                }],
            },
            "StateName": a.state,
            "ZipCode": a.zip,
        });
        if let Some(z) = &a.zip4 {
            v["ZipPlus4"] = json!(z);
        }
        v
    };
    let status = get("VoterStatus");
    let unit = |a: Option<&Address>| a.and_then(|a| a.line2.clone()).unwrap_or_default();
    let facts = [
        get("RegistrationDate"),
        get("StatusReason"),
        get("PreferredLanguage"),
        unit(Some(&r.residence)),
        unit(r.mailing.as_ref()),
    ];
    let classifications: Vec<Value> = FACTS
        .iter()
        .zip(&facts)
        .filter(|(_, value)| !value.is_empty())
        .map(|((name, _), value)| {
            json!({"@type": "VRI.VoterClassification", "Assertion": "other",
                   "OtherAssertion": value, "OtherType": name, "Type": "other"})
        })
        .collect();
    let mut name = json!({"@type": "VRI.Name", "FirstName": r.name.first, "LastName": r.name.last});
    if let Some(m) = &r.name.middle {
        name["MiddleName"] = json!([m]);
    }
    if let Some(s) = &r.name.suffix {
        name["Suffix"] = json!(s);
    }
    let mut voter = json!({
        "@type": "VRI.Voter",
        "ContactMethod": j["ContactMethod"].as_array().into_iter().flatten().map(|c| {
            json!({"@type": "VRI.ContactMethod", "Type": c["Type"], "Value": c["Value"]})
        }).collect::<Vec<_>>(),
        "DateOfBirth": get("DateOfBirth"),
        "Name": name,
        "ResidenceAddress": addr(&r.residence),
        "VoterClassification": classifications,
        "VoterId": j["VoterId"].as_array().into_iter().flatten().map(|i| {
            json!({"@type": "VRI.VoterId", "StringValue": i["StringValue"], "Type": i["Type"]})
        }).collect::<Vec<_>>(),
    });
    if let Some(m) = &r.mailing {
        voter["MailingAddress"] = addr(m);
    }
    if let Some(p) = &r.party {
        voter["Party"] = json!({"@type": "VRI.Party", "Abbreviation": p.0, "Name": p.0});
    }
    let mut rec = json!({
        "@type": "VRI.VoterRecord",
        "District": j["Districts"].as_array().into_iter().flatten().map(|d| json!({
            "@type": "VRI.ReportingUnit",
            "ExternalIdentifier": [ext("local-level", str_of(&d["Id"]), None)],
            "IsDistricted": true,
            "Type": d["Type"],
        })).collect::<Vec<_>>(),
        "Locality": [{
            "@type": "VRI.ReportingUnit",
            "ExternalIdentifier": [ext("local-level", &get("Precinct"), None)],
            "Type": "precinct",
        }],
        "Voter": voter,
        "VoterParticipation": j["VoterParticipation"].as_array().into_iter().flatten().map(|p| json!({
            "@type": "VRI.VoterParticipation",
            "Election": {
                "@type": "VRI.Election",
                "ExternalIdentifier": [
                    ext("local-level", str_of(&p["ElectionId"]), None),
                    ext("other", str_of(&p["Method"]), Some(METHOD_ID)),
                ],
                "StartDate": p["Date"],
            },
        })).collect::<Vec<_>>(),
        "VoterStatus": if status == "cancelled" { "other" } else { status.as_str() },
    });
    if status == "cancelled" {
        // The JSON schema names it `OtherStatus` (the XSD `OtherVoterStatus`).
        rec["OtherStatus"] = json!("cancelled");
    }
    rec
}

/// Decodes one VRI JSON `VRI.VoterRecord` by the same rules as the XML form: the object is
/// brought to the shape the XML parser builds (an address inside its class element, place
/// names as text, `OtherStatus` as `OtherVoterStatus`), then [`record_from_vri`].
pub fn record_from_vri_json(v: &Value, path: &str) -> Result<VoterRecord, String> {
    let mut tree = v.clone();
    if let Some(rec) = tree.as_object_mut() {
        if let Some(other) = rec.remove("OtherStatus") {
            rec.insert("OtherVoterStatus".into(), other);
        }
        if let Some(Value::Object(voter)) = rec.get_mut("Voter") {
            for key in ["ResidenceAddress", "MailingAddress"] {
                let Some(Value::Object(a)) = voter.get_mut(key) else {
                    continue;
                };
                if let Some(Value::Object(place)) = a.get_mut("CompletePlaceName")
                    && let Some(Value::Array(names)) = place.get_mut("PlaceName")
                {
                    for n in names.iter_mut() {
                        if let Some(text) = n.get("Value").cloned() {
                            *n = text;
                        }
                    }
                }
                let class = a
                    .get("@type")
                    .and_then(Value::as_str)
                    .and_then(|t| t.strip_prefix("addr."))
                    .unwrap_or("unknown")
                    .to_owned();
                let inner = Value::Object(std::mem::take(a));
                a.insert(class, inner);
            }
        }
    }
    record_from_vri(&tree, path)
}
