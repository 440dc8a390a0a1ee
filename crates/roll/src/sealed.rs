//! Sealed records and their canonical storage encoding (`URSR` version 1).
//!
//! A [`SealedRecord`] is a [`VoterRecord`] whose sensitive fields (date of birth, DL number,
//! SSN4, phone, email) are each sealed (see [`crate::crypto`]); the other fields are the ones
//! states publish in their voter files and stay readable so the store can index precincts and
//! districts. The encoding, byte for byte:
//!
//! ```text
//! "URSR" 0x01
//! voter_id:str  first:str middle:opt last:str suffix:opt
//! residence:addr  mailing:flag[addr]  party:opt
//! status:u8 (0 active | 1 inactive, reason:u8 | 2 cancelled, reason:u8)
//! registered_on:date  precinct:str  districts:count (kind:u8 id:str)*  language:str
//! history:count (election_id:str date:date method:u8)*
//! dob:bytes  dl:optbytes  ssn4:optbytes  phone:optbytes  email:optbytes
//! addr = line1:str line2:opt city:str state:str zip:str zip4:opt
//! str/bytes = u32be length || bytes; opt = 0 | 1 str; date = u16be year, u8 month, u8 day
//! ```

use rand_core::{CryptoRng, RngCore};

use crate::crypto::{
    self, BlindIndex, FieldCipher, IndexKey, IndexPurpose, MasterKey, SealedField,
};
use crate::error::{CryptoError, DecodeError, InvalidField};
use crate::limits::*;
use crate::record::*;
use crate::wire::{Reader, Writer};

const MAGIC: &[u8; 4] = b"URSR";
const VERSION: u8 = 1;

/// The three blind-index keys, derived once from the master key.
#[derive(Debug, Clone)]
pub struct IndexKeys {
    /// "Am I registered?" key.
    pub registered: IndexKey,
    /// DL number key.
    pub dl_number: IndexKey,
    /// SSN4 + DOB key.
    pub ssn4_dob: IndexKey,
}

impl IndexKeys {
    /// Derives all index keys from the master key.
    pub fn derive(master: &MasterKey) -> IndexKeys {
        IndexKeys {
            registered: master.index_key(IndexPurpose::Registered),
            dl_number: master.index_key(IndexPurpose::DlNumber),
            ssn4_dob: master.index_key(IndexPurpose::Ssn4Dob),
        }
    }
}

/// The blind indexes of one record, stored as separate indexed columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordIndexes {
    /// (last, first, DOB, ZIP) for "Am I registered?".
    pub registered: BlindIndex,
    /// DL number, if the record has one.
    pub dl_number: Option<BlindIndex>,
    /// SSN4 with DOB, if the record has an SSN4.
    pub ssn4_dob: Option<BlindIndex>,
}

/// A record with its sensitive fields sealed. Safe to store; holds no plaintext DOB or ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    /// The fields stored in the clear; `sensitive` is absent on purpose.
    pub clear: ClearFields,
    /// Sealed date of birth.
    pub dob: Vec<u8>,
    /// Sealed DL number.
    pub dl_number: Option<Vec<u8>>,
    /// Sealed SSN4.
    pub ssn4: Option<Vec<u8>>,
    /// Sealed phone.
    pub phone: Option<Vec<u8>>,
    /// Sealed email.
    pub email: Option<Vec<u8>>,
}

/// The fields of a record that are not sealed: those many states sell or publish in their voter
/// files. Still private to urne: never served publicly, read only by authorized staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearFields {
    /// Voter id.
    pub voter_id: String,
    /// Name.
    pub name: Name,
    /// Residence address.
    pub residence: Address,
    /// Mailing address.
    pub mailing: Option<Address>,
    /// Party.
    pub party: Option<Party>,
    /// Status and reason.
    pub status: Status,
    /// Registration date.
    pub registered_on: Date,
    /// Precinct.
    pub precinct: String,
    /// Districts.
    pub districts: Vec<District>,
    /// Preferred language.
    pub language: String,
    /// Voting history.
    pub history: Vec<Participation>,
}

/// Seals a validated record and computes its blind indexes.
pub fn seal_record(
    record: &VoterRecord,
    cipher: &FieldCipher,
    keys: &IndexKeys,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(SealedRecord, RecordIndexes), InvalidField> {
    record.validate()?;
    let id = record.voter_id.as_str();
    let s = &record.sensitive;
    let seal_opt = |f, v: &Option<String>, rng: &mut _| {
        v.as_ref().map(|v| cipher.seal(id, f, v.as_bytes(), rng))
    };
    let dl_number = seal_opt(SealedField::DlNumber, &s.dl_number, rng);
    let ssn4 = seal_opt(SealedField::Ssn4, &s.ssn4, rng);
    let phone = seal_opt(SealedField::Phone, &s.phone, rng);
    let email = seal_opt(SealedField::Email, &s.email, rng);
    let sealed = SealedRecord {
        clear: ClearFields {
            voter_id: record.voter_id.clone(),
            name: record.name.clone(),
            residence: record.residence.clone(),
            mailing: record.mailing.clone(),
            party: record.party.clone(),
            status: record.status,
            registered_on: record.registered_on,
            precinct: record.precinct.clone(),
            districts: record.districts.clone(),
            language: record.language.clone(),
            history: record.history.clone(),
        },
        dob: cipher.seal(id, SealedField::Dob, &s.dob.to_wire(), rng),
        dl_number,
        ssn4,
        phone,
        email,
    };
    let n = &record.name;
    let registered = crypto::registered_index(
        &keys.registered,
        &n.last,
        &n.first,
        s.dob,
        &record.residence.zip,
    )
    .ok_or(InvalidField::Malformed {
        field: "name",
        why: "nothing left to index after normalizing",
    })?;
    let indexes = RecordIndexes {
        registered,
        dl_number: s
            .dl_number
            .as_deref()
            .and_then(|d| crypto::dl_index(&keys.dl_number, d)),
        ssn4_dob: s
            .ssn4
            .as_deref()
            .and_then(|d| crypto::ssn4_index(&keys.ssn4_dob, d, s.dob)),
    };
    Ok((sealed, indexes))
}

fn open_string(
    cipher: &FieldCipher,
    id: &str,
    field: SealedField,
    sealed: &Option<Vec<u8>>,
) -> Result<Option<String>, CryptoError> {
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let plain = cipher.open(id, field, sealed)?;
    let s = std::str::from_utf8(&plain).map_err(|_| InvalidField::Malformed {
        field: field.name(),
        why: "not UTF-8",
    })?;
    Ok(Some(s.to_owned()))
}

impl SealedRecord {
    /// Opens the date of birth only (what a public lookup confirms a match with).
    pub fn open_dob(&self, cipher: &FieldCipher) -> Result<Date, CryptoError> {
        let id = self.clear.voter_id.as_str();
        let dob = cipher.open(id, SealedField::Dob, &self.dob)?;
        let dob: [u8; 4] = dob
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        Ok(Date::from_wire(dob, "dob")?)
    }

    /// Opens the sealed fields and returns the validated plaintext record.
    pub fn open(&self, cipher: &FieldCipher) -> Result<VoterRecord, CryptoError> {
        let p = &self.clear;
        let id = p.voter_id.as_str();
        let sensitive = Sensitive {
            dob: self.open_dob(cipher)?,
            dl_number: open_string(cipher, id, SealedField::DlNumber, &self.dl_number)?,
            ssn4: open_string(cipher, id, SealedField::Ssn4, &self.ssn4)?,
            phone: open_string(cipher, id, SealedField::Phone, &self.phone)?,
            email: open_string(cipher, id, SealedField::Email, &self.email)?,
        };
        let record = VoterRecord {
            voter_id: p.voter_id.clone(),
            name: p.name.clone(),
            residence: p.residence.clone(),
            mailing: p.mailing.clone(),
            sensitive,
            party: p.party.clone(),
            status: p.status,
            registered_on: p.registered_on,
            precinct: p.precinct.clone(),
            districts: p.districts.clone(),
            language: p.language.clone(),
            history: p.history.clone(),
        };
        record.validate()?;
        Ok(record)
    }

    /// The canonical storage bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.raw(MAGIC);
        w.u8(VERSION);
        let p = &self.clear;
        w.str(&p.voter_id);
        encode_name(&mut w, &p.name);
        encode_address(&mut w, &p.residence);
        match &p.mailing {
            None => w.u8(0),
            Some(a) => {
                w.u8(1);
                encode_address(&mut w, a);
            }
        }
        w.opt_str(p.party.as_ref().map(|x| x.0.as_str()));
        match p.status {
            Status::Active => w.u8(0),
            Status::Inactive(r) => {
                w.u8(1);
                w.u8(r.code());
            }
            Status::Cancelled(r) => {
                w.u8(2);
                w.u8(r.code());
            }
        }
        w.raw(&p.registered_on.to_wire());
        w.str(&p.precinct);
        w.count(p.districts.len());
        for d in &p.districts {
            w.u8(d.kind.code());
            w.str(&d.id);
        }
        w.str(&p.language);
        w.count(p.history.len());
        for h in &p.history {
            w.str(&h.election_id);
            w.raw(&h.date.to_wire());
            w.u8(h.method.code());
        }
        w.bytes(&self.dob);
        for f in [&self.dl_number, &self.ssn4, &self.phone, &self.email] {
            match f {
                None => w.u8(0),
                Some(b) => {
                    w.u8(1);
                    w.bytes(b);
                }
            }
        }
        w.buf
    }

    /// Decodes canonical storage bytes strictly (limits, tags, no trailing bytes).
    pub fn decode(bytes: &[u8]) -> Result<SealedRecord, DecodeError> {
        if bytes.len() > SEALED_RECORD_BYTES_MAX {
            return Err(InvalidField::TooLong {
                field: "sealed record",
                max: SEALED_RECORD_BYTES_MAX,
            }
            .into());
        }
        let mut r = Reader::new(bytes);
        if r.take(4).ok() != Some(MAGIC.as_slice()) || r.u8().ok() != Some(VERSION) {
            return Err(DecodeError::BadHeader {
                what: "sealed record",
            });
        }
        let voter_id = r.string("voter_id", VOTER_ID_BYTES_MAX)?;
        let name = decode_name(&mut r)?;
        let residence = decode_address(&mut r)?;
        let mailing = if r.flag()? {
            Some(decode_address(&mut r)?)
        } else {
            None
        };
        let party = r.opt_string("party", PARTY_BYTES_MAX)?.map(Party);
        let status = match r.tag(|t| (t <= 2).then_some(t))? {
            0 => Status::Active,
            1 => Status::Inactive(r.tag(InactiveReason::from_code)?),
            _ => Status::Cancelled(r.tag(RemovalReason::from_code)?),
        };
        let registered_on = Date::from_wire(r.array()?, "registered_on")?;
        let precinct = r.string("precinct", PRECINCT_BYTES_MAX)?;
        let mut districts = Vec::new();
        for _ in 0..r.count("districts", DISTRICTS_MAX)? {
            let kind = r.tag(DistrictKind::from_code)?;
            districts.push(District {
                kind,
                id: r.string("districts.id", DISTRICT_ID_BYTES_MAX)?,
            });
        }
        let language = r.string("language", LANGUAGE_BYTES_MAX)?;
        let mut history = Vec::new();
        for _ in 0..r.count("history", HISTORY_ENTRIES_MAX)? {
            let election_id = r.string("history.election_id", ELECTION_ID_BYTES_MAX)?;
            let date = Date::from_wire(r.array()?, "history.date")?;
            let method = r.tag(VoteMethod::from_code)?;
            history.push(Participation {
                election_id,
                date,
                method,
            });
        }
        let dob = r.bytes("dob", SEALED_FIELD_BYTES_MAX)?.to_vec();
        let mut opt = |field| -> Result<Option<Vec<u8>>, DecodeError> {
            if r.flag()? {
                Ok(Some(r.bytes(field, SEALED_FIELD_BYTES_MAX)?.to_vec()))
            } else {
                Ok(None)
            }
        };
        let (dl_number, ssn4, phone, email) = (
            opt("dl_number")?,
            opt("ssn4")?,
            opt("phone")?,
            opt("email")?,
        );
        r.finish()?;
        let clear = ClearFields {
            voter_id,
            name,
            residence,
            mailing,
            party,
            status,
            registered_on,
            precinct,
            districts,
            language,
            history,
        };
        Ok(SealedRecord {
            clear,
            dob,
            dl_number,
            ssn4,
            phone,
            email,
        })
    }
}

fn encode_name(w: &mut Writer, n: &Name) {
    w.str(&n.first);
    w.opt_str(n.middle.as_deref());
    w.str(&n.last);
    w.opt_str(n.suffix.as_deref());
}

fn decode_name(r: &mut Reader<'_>) -> Result<Name, DecodeError> {
    Ok(Name {
        first: r.string("name.first", NAME_PART_BYTES_MAX)?,
        middle: r.opt_string("name.middle", NAME_PART_BYTES_MAX)?,
        last: r.string("name.last", NAME_PART_BYTES_MAX)?,
        suffix: r.opt_string("name.suffix", NAME_SUFFIX_BYTES_MAX)?,
    })
}

fn encode_address(w: &mut Writer, a: &Address) {
    w.str(&a.line1);
    w.opt_str(a.line2.as_deref());
    w.str(&a.city);
    w.str(&a.state);
    w.str(&a.zip);
    w.opt_str(a.zip4.as_deref());
}

fn decode_address(r: &mut Reader<'_>) -> Result<Address, DecodeError> {
    Ok(Address {
        line1: r.string("address.line1", ADDRESS_LINE_BYTES_MAX)?,
        line2: r.opt_string("address.line2", ADDRESS_LINE_BYTES_MAX)?,
        city: r.string("address.city", CITY_BYTES_MAX)?,
        state: r.string("address.state", 2)?,
        zip: r.string("address.zip", 5)?,
        zip4: r.opt_string("address.zip4", 4)?,
    })
}
