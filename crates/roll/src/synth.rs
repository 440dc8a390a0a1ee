//! A seedable synthetic voter generator: realistic-looking names, addresses, ages, statuses,
//! IDs and voting history, for tests and benchmarks at any size. The same seed always gives the
//! same records. Every record passes [`VoterRecord::validate`]. No real person's data is used:
//! the names are common US given and family names, the streets and cities generic.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::record::*;

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Maria",
    "Jose",
    "Guadalupe",
    "Luis",
    "Ana",
    "Wei",
    "Mei",
    "Minh",
    "Linh",
    "Jae",
    "Min-jun",
    "Aaliyah",
    "DeShawn",
    "Priya",
    "Arjun",
    "Fatima",
    "Omar",
    "Noah",
    "Olivia",
    "Liam",
    "Emma",
    "Sofia",
    "Mateo",
    "Chloe",
    "Ethan",
    "Zoe",
    "Nguyen",
    "Kai",
    "Leilani",
    "José",
    "Renée",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Nguyen",
    "Tran",
    "Kim",
    "Park",
    "Chen",
    "Wang",
    "Patel",
    "Singh",
    "O'Brien",
    "Smith-Jones",
    "McDonald",
    "De La Cruz",
    "Santos",
    "Reyes",
    "Cruz",
    "Flores",
    "Rivera",
    "Washington",
    "Okafor",
    "Yamamoto",
];
const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Pine St",
    "Maple Ave",
    "Cedar Ln",
    "Elm St",
    "Washington Blvd",
    "Lake Dr",
    "Hill Rd",
    "Park Ave",
    "Mission St",
    "El Camino Real",
    "Sunset Blvd",
    "Broadway",
    "Valley View Rd",
    "2nd St",
    "3rd Ave",
    "Jefferson St",
    "Lincoln Way",
    "Rosewood Ct",
];
/// (city, ZIP prefix) pairs, fictional enough for tests.
const CITIES: &[(&str, &str)] = &[
    ("Springfield", "950"),
    ("Riverside", "925"),
    ("Fairview", "945"),
    ("Greenville", "956"),
    ("Franklin", "953"),
    ("Madison", "957"),
    ("Clinton", "958"),
    ("Georgetown", "959"),
];
const PARTIES: &[(&str, u32)] = &[
    ("DEM", 46),
    ("REP", 24),
    ("NPP", 22),
    ("AIP", 4),
    ("GRN", 2),
    ("LIB", 2),
];
const LANGS: &[(&str, u32)] = &[
    ("en", 80),
    ("es", 12),
    ("zh", 3),
    ("vi", 2),
    ("tl", 2),
    ("ko", 1),
];

/// The generator. Construct with a seed; call [`Synth::record`] for each record.
#[derive(Debug, Clone)]
pub struct Synth {
    rng: ChaCha8Rng,
    as_of: Date,
    next: u64,
    state: &'static str,
}

impl Synth {
    /// A generator seeded with `seed`, making voters as of the date `as_of` (ages 18..=100 on
    /// that date), in USPS state `state` (two upper-case letters, as "CA").
    pub fn new(seed: u64, as_of: Date, state: &'static str) -> Synth {
        Synth {
            rng: ChaCha8Rng::seed_from_u64(seed),
            as_of,
            next: 0,
            state,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        // Modulo bias is below 2^-40 for the small ranges used here; fine for synthetic data.
        self.rng.next_u64() % n.max(1)
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn weighted(&mut self, xs: &[(&'static str, u32)]) -> &'static str {
        let total: u32 = xs.iter().map(|x| x.1).sum();
        let mut r = self.below(u64::from(total)) as u32;
        for &(v, w) in xs {
            if r < w {
                return v;
            }
            r -= w;
        }
        xs[0].0
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn date_between(&mut self, from: Date, to: Date) -> Date {
        let (a, b) = (from.days_since_epoch(), to.days_since_epoch());
        let d = a + self.below((b - a + 1).max(1) as u64) as i64;
        Date::from_days_since_epoch(d).unwrap_or(from)
    }

    /// The next record.
    pub fn record(&mut self) -> VoterRecord {
        self.next += 1;
        let as_of = self.as_of;
        let year = |y: u16| Date::new(y, as_of.month(), as_of.day().min(28));
        let oldest = year(as_of.year().saturating_sub(100)).unwrap_or(as_of);
        let youngest = year(as_of.year().saturating_sub(18)).unwrap_or(as_of);
        let dob = self.date_between(oldest, youngest);
        let eighteen = Date::new(dob.year() + 18, dob.month(), dob.day().min(28)).unwrap_or(as_of);
        let registered_on = self.date_between(eighteen.max(Date::EPOCH).min(as_of), as_of);
        let (city, zip3) = self.pick(CITIES);
        let zip = format!("{zip3}{}", self.digits(2));
        let residence = Address {
            line1: format!("{} {}", 1 + self.below(9999), self.pick(STREETS)),
            line2: (self.below(5) == 0).then(|| format!("Apt {}", 1 + self.below(400))),
            city: city.to_owned(),
            state: self.state.to_owned(),
            zip: zip.clone(),
            zip4: (self.below(2) == 0).then(|| self.digits(4)),
        };
        let mailing = (self.below(20) == 0).then(|| Address {
            line1: format!("PO Box {}", 1 + self.below(9999)),
            line2: None,
            city: city.to_owned(),
            state: self.state.to_owned(),
            zip,
            zip4: None,
        });
        let first = self.pick(FIRST).to_owned();
        let last = self.pick(LAST).to_owned();
        let status = match self.below(100) {
            0..=84 => Status::Active,
            85..=91 => Status::Inactive(InactiveReason::ConfirmationNoticeSent),
            92..=94 => Status::Inactive(InactiveReason::MailReturned),
            95..=96 => Status::Cancelled(RemovalReason::Death),
            97 => Status::Cancelled(RemovalReason::VoterRequest),
            _ => Status::Cancelled(RemovalReason::NoticeUnansweredAndTwoGenerals),
        };
        let precinct_no = self.below(2000);
        let mut history = self.history(registered_on);
        if status == Status::Cancelled(RemovalReason::NoticeUnansweredAndTwoGenerals) {
            // §8(d)(1)(B): such a voter did not vote in the last two general elections.
            let cutoff =
                Date::new(self.as_of.year().saturating_sub(4), 1, 1).unwrap_or(Date::EPOCH);
            history.retain(|h| h.date < cutoff);
        }
        VoterRecord {
            voter_id: format!("V{:09}", self.next),
            sensitive: Sensitive {
                dob,
                dl_number: (self.below(10) < 9).then(|| {
                    format!(
                        "{}{}",
                        char::from(b'A' + self.below(26) as u8),
                        self.digits(7)
                    )
                }),
                ssn4: (self.below(10) < 8).then(|| self.digits(4)),
                phone: (self.below(10) < 6)
                    .then(|| format!("{}{}", 2 + self.below(8), self.digits(9))),
                email: (self.below(10) < 4).then(|| {
                    format!(
                        "{}.{}{}@example.com",
                        first.to_lowercase(),
                        self.digits(3),
                        self.next
                    )
                    .replace([' ', '\''], "")
                }),
            },
            name: Name {
                middle: (self.below(3) == 0).then(|| self.pick(FIRST).to_owned()),
                suffix: (self.below(40) == 0).then(|| "Jr".to_owned()),
                first,
                last,
            },
            residence,
            mailing,
            party: Some(Party(self.weighted(PARTIES).to_owned())),
            status,
            registered_on,
            precinct: format!("P{precinct_no:04}"),
            districts: vec![
                District {
                    kind: DistrictKind::Congressional,
                    id: format!("cd-{}", 1 + precinct_no / 400),
                },
                District {
                    kind: DistrictKind::StateSenate,
                    id: format!("sd-{}", 1 + precinct_no / 200),
                },
                District {
                    kind: DistrictKind::StateHouse,
                    id: format!("ad-{}", 1 + precinct_no / 100),
                },
            ],
            language: self.weighted(LANGS).to_owned(),
            history,
        }
    }

    /// General elections (first Tuesday after the first Monday of November, even years) since
    /// registration, each voted with probability about 60%.
    fn history(&mut self, registered_on: Date) -> Vec<Participation> {
        let mut out = Vec::new();
        let start = registered_on.year() + registered_on.year() % 2;
        let mut y = start.max(self.as_of.year().saturating_sub(20));
        while y <= self.as_of.year() {
            let election = election_day(y);
            if election >= registered_on && election <= self.as_of && self.below(10) < 6 {
                let method = match self.below(10) {
                    0..=4 => VoteMethod::Mail,
                    5..=7 => VoteMethod::ElectionDay,
                    8 => VoteMethod::Early,
                    _ => VoteMethod::Provisional,
                };
                out.push(Participation {
                    election_id: format!("{y}-general"),
                    date: election,
                    method,
                });
            }
            y += 2;
        }
        out
    }
}

/// US federal general election day of `year`: the Tuesday after the first Monday in November.
pub fn election_day(year: u16) -> Date {
    let nov1 = Date::new(year, 11, 1).map_or(0, Date::days_since_epoch);
    // 1970-01-01 was a Thursday: weekday 0 = Monday gives (days + 3) mod 7.
    let weekday = (nov1 + 3).rem_euclid(7);
    let first_monday = nov1 + (7 - weekday) % 7;
    Date::from_days_since_epoch(first_monday + 1).unwrap_or(Date::EPOCH)
}
