//! RCTab's contest config JSON (`*_config.json`), parsed and validated into tally rules.

use std::path::{Path, PathBuf};

use serde_json::Value;
use urne_tally::Dec;
use urne_tally::model::{Contest, OvervoteRule, Rules, TiebreakMode, UWI_LABEL, WinnerMode};
use urne_tally::report::ContestInfo;

use crate::Error;

/// Largest config file read, in bytes.
pub const CONFIG_BYTES_MAX: u64 = 16 << 20;
/// Most CVR sources one config may list.
pub const SOURCES_MAX: usize = 10_000;
/// `decimalPlacesForVoteArithmetic` range. RCTab allows up to 20; urne stops at 12 so that
/// every product of two vote values stays exact in 128-bit integers (10^24 × 10^9 votes).
pub const DECIMAL_PLACES_MIN: u32 = 1;
pub const DECIMAL_PLACES_MAX: u32 = 12;
/// `minimumVoteThreshold` upper limit (RCTab's own).
pub const MINIMUM_VOTE_THRESHOLD_MAX: i64 = 1_000_000;
/// Column index limit (RCTab `MAX_COLUMN_INDEX`).
pub const COLUMN_INDEX_MAX: i64 = 1000;
/// Row index limit (RCTab `MAX_ROW_INDEX`).
pub const ROW_INDEX_MAX: i64 = 100_000;
/// `randomSeed` range (RCTab `MIN_RANDOM_SEED` / `MAX_RANDOM_SEED`, ±2^47).
pub const RANDOM_SEED_MIN: i64 = -140_737_488_355_328;
pub const RANDOM_SEED_MAX: i64 = 140_737_488_355_327;
/// Names RCTab's transfer reports use; no candidate or label may take them (any case).
pub const RESERVED_NAMES: [&str; 3] = ["residual surplus", "exhausted", "uncounted"];

/// One entry of `cvrFileSources`.
#[derive(Clone, Debug)]
pub struct Source {
    pub index: usize,
    pub file_path: String,
    pub resolved: PathBuf,
    pub provider: Provider,
    pub contest_id: String,
    pub first_vote_column: Option<u32>,
    pub first_vote_row: Option<u32>,
    pub id_column: Option<u32>,
    pub batch_column: Option<u32>,
    pub precinct_column: Option<u32>,
    pub overvote_delimiter: String,
    pub overvote_label: String,
    pub skipped_rank_label: String,
    pub uwi_label: String,
    pub treat_blank_as_uwi: bool,
}

/// CVR formats RCTab reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Ess,
    Cdf,
    Dominion,
    Hart,
    ClearBallot,
    GenericCsv,
}

impl Provider {
    /// The config's name for the provider.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Ess => "ess",
            Provider::Cdf => "cdf",
            Provider::Dominion => "dominion",
            Provider::Hart => "hart",
            Provider::ClearBallot => "clearBallot",
            Provider::GenericCsv => "genericCsv",
        }
    }
}

/// A validated config.
#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    pub info: ContestInfo,
    pub rules: Rules,
    pub contest: Contest,
    /// Aliases per candidate index (names first).
    pub aliases: Vec<Vec<String>>,
    pub sources: Vec<Source>,
    pub tabulate_by_precinct: bool,
    pub tabulate_by_batch: bool,
    pub generate_cdf_json: bool,
    /// Candidate indexes in config order (the tie-breaking permutation).
    pub permutation: Vec<u16>,
}

struct Ctx<'a> {
    file: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, path: &str, rule: impl Into<String>) -> Error {
        Error::Config {
            file: self.file.to_path_buf(),
            path: path.to_string(),
            rule: rule.into(),
        }
    }

    /// A scalar read as RCTab's Jackson mapping reads it into a `String` field.
    fn text(&self, obj: &Value, key: &str, path: &str) -> Result<String, Error> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            Some(_) => Err(self.err(&format!("{path}.{key}"), "must be a string")),
        }
    }

    fn flag(&self, obj: &Value, key: &str, path: &str) -> Result<bool, Error> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" => Ok(true),
            Some(Value::String(s)) if s == "false" => Ok(false),
            Some(_) => Err(self.err(&format!("{path}.{key}"), "must be true or false")),
        }
    }

    fn int_in(&self, text: &str, path: &str, min: i64, max: i64) -> Result<i64, Error> {
        match text.trim().parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(self.err(
                path,
                format!("must be an integer from {min} to {max}, got {text:?}"),
            )),
        }
    }

    /// An optional 1-based column or row index, in RCTab's range for it (rows up to
    /// 100000, columns up to 1000).
    fn index(&self, obj: &Value, key: &str, path: &str) -> Result<Option<u32>, Error> {
        let t = self.text(obj, key, path)?;
        if t.trim().is_empty() {
            return Ok(None);
        }
        let max = if key == "firstVoteRowIndex" {
            ROW_INDEX_MAX
        } else {
            COLUMN_INDEX_MAX
        };
        let v = self.int_in(&t, &format!("{path}.{key}"), 1, max)?;
        Ok(Some(v as u32))
    }

    /// Whether a field holds a non-blank value.
    fn defined(&self, obj: &Value, key: &str, path: &str) -> Result<bool, Error> {
        Ok(!self.text(obj, key, path)?.trim().is_empty())
    }
}

/// Parses and validates config text; `path` is used for errors and relative CVR paths.
pub fn parse(path: &Path, text: &str) -> Result<Config, Error> {
    let ctx = Ctx { file: path };
    let root: Value =
        serde_json::from_str(text).map_err(|e| ctx.err("$", format!("not valid JSON: {e}")))?;
    let out = root.get("outputSettings").cloned().unwrap_or(Value::Null);
    let rules_v = root.get("rules").cloned().unwrap_or(Value::Null);
    if !rules_v.is_object() {
        return Err(ctx.err("$.rules", "must be an object"));
    }
    let info = ContestInfo {
        name: ctx.text(&out, "contestName", "$.outputSettings")?,
        jurisdiction: ctx.text(&out, "contestJurisdiction", "$.outputSettings")?,
        office: ctx.text(&out, "contestOffice", "$.outputSettings")?,
        date: ctx.text(&out, "contestDate", "$.outputSettings")?,
        bottoms_up_percentage: ctx.text(
            &rules_v,
            "multiSeatBottomsUpPercentageThreshold",
            "$.rules",
        )?,
    };
    if info.name.trim().is_empty() {
        return Err(ctx.err("$.outputSettings.contestName", "is required"));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let sources = parse_sources(&ctx, &root, base)?;
    let (contest, aliases, permutation) = parse_candidates(&ctx, &root, &sources)?;
    let rules = parse_rules(&ctx, &rules_v, &contest)?;
    let tabulate_by_precinct = ctx.flag(&out, "tabulateByPrecinct", "$.outputSettings")?;
    let tabulate_by_batch = ctx.flag(&out, "tabulateByBatch", "$.outputSettings")?;
    for s in &sources {
        let p = format!("$.cvrFileSources[{}]", s.index);
        if tabulate_by_precinct && s.provider == Provider::Ess && s.precinct_column.is_none() {
            return Err(ctx.err(
                &p,
                "precinctColumnIndex is required when tabulateByPrecinct is enabled",
            ));
        }
        if s.provider == Provider::Ess
            && s.overvote_delimiter.is_empty()
            && rules.overvote == OvervoteRule::ExhaustIfMultipleContinuing
        {
            return Err(ctx.err(
                &format!("{p}.overvoteDelimiter"),
                "an ES&S source needs an overvoteDelimiter when overvoteRule is \
                 exhaustIfMultipleContinuing",
            ));
        }
        if !s.overvote_label.is_empty()
            && rules.overvote == OvervoteRule::ExhaustIfMultipleContinuing
        {
            return Err(ctx.err(
                &p,
                "an overvoteLabel requires overvoteRule exhaustImmediately or alwaysSkipToNextRank",
            ));
        }
    }
    Ok(Config {
        path: path.to_path_buf(),
        info,
        rules,
        contest,
        aliases,
        sources,
        tabulate_by_precinct,
        tabulate_by_batch,
        generate_cdf_json: ctx.flag(&out, "generateCdfJson", "$.outputSettings")?,
        permutation,
    })
}

fn parse_sources(ctx: &Ctx<'_>, root: &Value, base: &Path) -> Result<Vec<Source>, Error> {
    let list = match root.get("cvrFileSources") {
        Some(Value::Array(a)) => a,
        _ => return Err(ctx.err("$.cvrFileSources", "must be a list")),
    };
    if list.is_empty() {
        return Err(ctx.err("$.cvrFileSources", "at least one CVR source is required"));
    }
    if list.len() > SOURCES_MAX {
        return Err(ctx.err(
            "$.cvrFileSources",
            format!("more than {SOURCES_MAX} sources"),
        ));
    }
    let mut sources = Vec::new();
    for (index, s) in list.iter().enumerate() {
        let p = format!("$.cvrFileSources[{index}]");
        let file_path = ctx.text(s, "filePath", &p)?;
        if file_path.trim().is_empty() {
            return Err(ctx.err(&format!("{p}.filePath"), "is required"));
        }
        let provider_text = ctx.text(s, "provider", &p)?;
        let provider = match provider_text.as_str() {
            "ess" => Provider::Ess,
            "cdf" => Provider::Cdf,
            "dominion" => Provider::Dominion,
            "hart" => Provider::Hart,
            "clearBallot" => Provider::ClearBallot,
            "genericCsv" => Provider::GenericCsv,
            other => {
                return Err(ctx.err(
                    &format!("{p}.provider"),
                    format!("unknown provider {other:?}"),
                ));
            }
        };
        let source = Source {
            index,
            resolved: base.join(&file_path),
            file_path,
            provider,
            contest_id: ctx.text(s, "contestId", &p)?,
            first_vote_column: ctx.index(s, "firstVoteColumnIndex", &p)?,
            first_vote_row: ctx.index(s, "firstVoteRowIndex", &p)?,
            id_column: ctx.index(s, "idColumnIndex", &p)?,
            batch_column: ctx.index(s, "batchColumnIndex", &p)?,
            precinct_column: ctx.index(s, "precinctColumnIndex", &p)?,
            overvote_delimiter: ctx.text(s, "overvoteDelimiter", &p)?,
            overvote_label: ctx.text(s, "overvoteLabel", &p)?,
            skipped_rank_label: ctx.text(s, "skippedRankLabel", &p)?,
            uwi_label: ctx.text(s, "undeclaredWriteInLabel", &p)?,
            treat_blank_as_uwi: ctx.flag(s, "treatBlankAsUndeclaredWriteIn", &p)?,
        };
        check_source(ctx, s, &source, &p)?;
        if let Some(other) = sources
            .iter()
            .find(|o: &&Source| o.resolved == source.resolved)
        {
            return Err(ctx.err(
                &format!("{p}.filePath"),
                format!(
                    "duplicate cast vote record filePath (also cvrFileSources[{}])",
                    other.index
                ),
            ));
        }
        sources.push(source);
    }
    Ok(sources)
}

/// RCTab's per-source checks (`performBasicCvrSourceValidation`): fields each provider needs,
/// fields it must not have, labels that clash, and the overvote delimiter's form.
fn check_source(ctx: &Ctx<'_>, raw: &Value, source: &Source, p: &str) -> Result<(), Error> {
    let provider = source.provider;
    // Labels: not a reserved word, and not the same as another label of the source.
    let labels = [
        ("overvoteLabel", &source.overvote_label),
        ("skippedRankLabel", &source.skipped_rank_label),
        ("undeclaredWriteInLabel", &source.uwi_label),
    ];
    for (field, value) in labels {
        if value.trim().is_empty() {
            continue;
        }
        if let Some(rule) = label_clash(value, field, source) {
            return Err(ctx.err(&format!("{p}.{field}"), rule));
        }
    }
    let tabular = matches!(provider, Provider::Ess | Provider::GenericCsv);
    if tabular {
        if source.first_vote_column.is_none() {
            return Err(ctx.err(
                &format!("{p}.firstVoteColumnIndex"),
                "is required for this provider",
            ));
        }
        if source.first_vote_row.is_none() {
            return Err(ctx.err(
                &format!("{p}.firstVoteRowIndex"),
                "is required for this provider",
            ));
        }
        let delimiter = &source.overvote_delimiter;
        // RCTab refuses a delimiter with a backslash, or made only of letters, digits,
        // whitespace and . ' , - " (those occur inside candidate names).
        if !delimiter.is_empty()
            && (delimiter.contains('\\')
                || delimiter.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || c.is_ascii_whitespace()
                        || c == '\x0B'
                        || ".',-\"".contains(c)
                }))
        {
            return Err(ctx.err(
                &format!("{p}.overvoteDelimiter"),
                "overvoteDelimiter is invalid: it may not contain a backslash nor consist only \
                 of letters, digits, whitespace and . ' , - \"",
            ));
        }
        if !delimiter.is_empty() && !source.overvote_label.trim().is_empty() {
            return Err(ctx.err(p, "overvoteDelimiter and overvoteLabel can't both be set"));
        }
    } else {
        if provider == Provider::Cdf {
            let lower = source.file_path.to_lowercase();
            if !lower.ends_with(".xml") && !lower.ends_with(".json") {
                return Err(ctx.err(
                    &format!("{p}.filePath"),
                    "CDF source files must be .json or .xml",
                ));
            }
        } else if !source.overvote_label.trim().is_empty() {
            return Err(ctx.err(
                &format!("{p}.overvoteLabel"),
                format!("should not be defined for provider {:?}", provider.label()),
            ));
        }
        for field in [
            "firstVoteColumnIndex",
            "firstVoteRowIndex",
            "idColumnIndex",
            "precinctColumnIndex",
            "overvoteDelimiter",
            "skippedRankLabel",
        ] {
            if ctx.defined(raw, field, p)? {
                return Err(ctx.err(
                    &format!("{p}.{field}"),
                    format!("should not be defined for provider {:?}", provider.label()),
                ));
            }
        }
        if source.treat_blank_as_uwi {
            return Err(ctx.err(
                &format!("{p}.treatBlankAsUndeclaredWriteIn"),
                format!("should not be true for provider {:?}", provider.label()),
            ));
        }
    }
    let needs_contest_id = matches!(
        provider,
        Provider::Dominion | Provider::Hart | Provider::ClearBallot
    );
    if needs_contest_id && source.contest_id.trim().is_empty() {
        return Err(ctx.err(&format!("{p}.contestId"), "is required for this provider"));
    }
    if tabular && !source.contest_id.trim().is_empty() {
        return Err(ctx.err(
            &format!("{p}.contestId"),
            format!("should not be defined for provider {:?}", provider.label()),
        ));
    }
    Ok(())
}

/// Why `value` (used as `field`) clashes with a reserved word or another label of `source`
/// (RCTab `stringAlreadyInUseElsewhereInSource`, case-insensitive).
fn label_clash(value: &str, field: &str, source: &Source) -> Option<String> {
    if let Some(r) = RESERVED_NAMES
        .iter()
        .find(|r| value.eq_ignore_ascii_case(r))
    {
        return Some(format!(
            "{value:?} is a reserved term ({r:?}) and can't be used for {field}"
        ));
    }
    let others = [
        ("overvoteLabel", &source.overvote_label),
        ("skippedRankLabel", &source.skipped_rank_label),
        ("undeclaredWriteInLabel", &source.uwi_label),
    ];
    others
        .iter()
        .find(|(f, v)| *f != field && !v.trim().is_empty() && v.eq_ignore_ascii_case(value))
        .map(|(f, _)| format!("{value:?} can't be used as {field} if it's also being used as {f}"))
}

type Candidates = (Contest, Vec<Vec<String>>, Vec<u16>);

fn parse_candidates(ctx: &Ctx<'_>, root: &Value, sources: &[Source]) -> Result<Candidates, Error> {
    let list = match root.get("candidates") {
        Some(Value::Array(a)) => a.clone(),
        None | Some(Value::Null) => Vec::new(),
        _ => return Err(ctx.err("$.candidates", "must be a list")),
    };
    let mut names: Vec<String> = Vec::new();
    let mut excluded = Vec::new();
    let mut aliases = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let p = format!("$.candidates[{i}]");
        let name = ctx.text(c, "name", &p)?.trim().to_string();
        if name.is_empty() {
            return Err(ctx.err(&format!("{p}.name"), "a candidate name is required"));
        }
        if name == UWI_LABEL || name == "overvote" || names.contains(&name) {
            return Err(ctx.err(
                &format!("{p}.name"),
                format!("candidate name {name:?} is reserved or already in use"),
            ));
        }
        let mut al = vec![name.clone()];
        match c.get("aliases") {
            Some(Value::Array(a)) => {
                for (j, v) in a.iter().enumerate() {
                    match v {
                        Value::String(s) => al.push(s.trim().to_string()),
                        _ => return Err(ctx.err(&format!("{p}.aliases[{j}]"), "must be a string")),
                    }
                }
            }
            None | Some(Value::Null) => {}
            _ => return Err(ctx.err(&format!("{p}.aliases"), "must be a list")),
        }
        if let Ok(code) = ctx.text(c, "code", &p)
            && !code.trim().is_empty()
            && !al.iter().any(|a| a == code.trim())
        {
            al.push(code.trim().to_string());
        }
        names.push(name);
        excluded.push(ctx.flag(c, "excluded", &p)?);
        aliases.push(al);
    }
    if names.is_empty() {
        return Err(ctx.err(
            "$.candidates",
            "the contest must have at least one declared candidate",
        ));
    }
    if excluded.iter().all(|e| *e) {
        return Err(ctx.err(
            "$.candidates",
            "the contest must have at least one non-excluded candidate",
        ));
    }
    if names.len() >= urne_tally::model::CANDIDATES_MAX {
        return Err(ctx.err("$.candidates", "too many candidates"));
    }
    // Every name and alias is distinct, within a candidate and across candidates, and none is
    // a reserved word or one of a source's labels (RCTab `validateCandidates`).
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, a) in aliases.iter().enumerate() {
        for s in a {
            if let Some(j) = seen.insert(s.as_str(), i) {
                let rule = if j == i {
                    format!("{s:?} is listed twice for this candidate")
                } else {
                    format!("{s:?} names two candidates (also $.candidates[{j}])")
                };
                return Err(ctx.err(&format!("$.candidates[{i}]"), rule));
            }
            if let Some(r) = RESERVED_NAMES.iter().find(|r| s.eq_ignore_ascii_case(r)) {
                return Err(ctx.err(
                    &format!("$.candidates[{i}]"),
                    format!("{s:?} is a reserved term ({r:?}) and can't be used for a candidate"),
                ));
            }
            for src in sources {
                if let Some(rule) = label_clash(s, "a candidate name", src) {
                    return Err(ctx.err(&format!("$.candidates[{i}]"), rule));
                }
            }
        }
    }
    let permutation: Vec<u16> = (0..names.len() as u16).collect();
    // RCTab `undeclaredWriteInsEnabled`: a write-in label, or blanks read as write-ins.
    let uwi_used = sources
        .iter()
        .any(|s| !s.uwi_label.trim().is_empty() || s.treat_blank_as_uwi);
    let uwi = if uwi_used {
        names.push(UWI_LABEL.to_string());
        excluded.push(false);
        aliases.push(vec![UWI_LABEL.to_string()]);
        Some((names.len() - 1) as u16)
    } else {
        None
    };
    Ok((
        Contest {
            names,
            excluded,
            uwi,
        },
        aliases,
        permutation,
    ))
}

fn parse_rules(ctx: &Ctx<'_>, r: &Value, contest: &Contest) -> Result<Rules, Error> {
    let p = "$.rules";
    let t = |k: &str| ctx.text(r, k, p);
    let f = |k: &str| ctx.flag(r, k, p);
    let path = |k: &str| format!("{p}.{k}");
    let tiebreak = match t("tiebreakMode")?.as_str() {
        "random" => TiebreakMode::Random,
        "stopCountingAndAsk" => TiebreakMode::StopCountingAndAsk,
        "previousRoundCountsThenRandom" => TiebreakMode::PreviousRoundCountsThenRandom,
        "previousRoundCountsThenAsk" => TiebreakMode::PreviousRoundCountsThenAsk,
        "useCandidateOrder" => TiebreakMode::UseCandidateOrder,
        "generatePermutation" => TiebreakMode::GeneratePermutation,
        other => {
            return Err(ctx.err(
                &path("tiebreakMode"),
                format!("invalid tiebreakMode {other:?}"),
            ));
        }
    };
    let overvote = match t("overvoteRule")?.as_str() {
        "alwaysSkipToNextRank" => OvervoteRule::AlwaysSkipToNextRank,
        "exhaustImmediately" => OvervoteRule::ExhaustImmediately,
        "exhaustIfMultipleContinuing" => OvervoteRule::ExhaustIfMultipleContinuing,
        other => {
            return Err(ctx.err(
                &path("overvoteRule"),
                format!("invalid overvoteRule {other:?}"),
            ));
        }
    };
    // Older RCTab configs name the modes differently (RCTab migrates them the same way).
    let mode_text = t("winnerElectionMode")?;
    let legacy_continue_until_two = mode_text == "singleSeatContinueUntilTwoCandidatesRemain";
    let mode = match mode_text.as_str() {
        "singleWinnerMajority" | "standard" | "singleSeatContinueUntilTwoCandidatesRemain" => {
            WinnerMode::SingleWinnerMajority
        }
        "multiWinnerAllowOnlyOneWinnerPerRound" | "multiSeatAllowOnlyOneWinnerPerRound" => {
            WinnerMode::MultiOnlyOneWinnerPerRound
        }
        "multiWinnerAllowMultipleWinnersPerRound" | "multiSeatAllowMultipleWinnersPerRound" => {
            WinnerMode::MultiMultipleWinnersPerRound
        }
        "bottomsUp" | "multiSeatBottomsUp" => WinnerMode::BottomsUp,
        "bottomsUpUsingPercentageThreshold" | "multiSeatBottomsUpUsingPercentageThreshold" => {
            WinnerMode::BottomsUpPercentageThreshold
        }
        "multiPassIrv" | "multiSeatSequentialWinnerTakesAll" => WinnerMode::MultiPassIrv,
        other => {
            return Err(ctx.err(
                &path("winnerElectionMode"),
                format!("invalid winnerElectionMode {other:?}"),
            ));
        }
    };
    let seed_text = t("randomSeed")?;
    if tiebreak.needs_random_seed() && seed_text.trim().is_empty() {
        return Err(ctx.err(
            &path("randomSeed"),
            "a random seed is required by this tiebreakMode",
        ));
    }
    // RCTab checks a supplied seed's range whatever the tiebreak mode.
    let random_seed = if seed_text.trim().is_empty() {
        0
    } else {
        ctx.int_in(
            &seed_text,
            &path("randomSeed"),
            RANDOM_SEED_MIN,
            RANDOM_SEED_MAX,
        )?
    };
    let declared = contest.num_declared() as i64;
    let bottoms_pct = mode == WinnerMode::BottomsUpPercentageThreshold;
    // RCTab: numberOfWinners is 0 exactly in bottomsUpUsingPercentageThreshold mode.
    let number_of_winners = ctx.int_in(
        &t("numberOfWinners")?,
        &path("numberOfWinners"),
        0,
        1_000_000,
    )? as u32;
    if bottoms_pct && number_of_winners != 0 {
        return Err(ctx.err(
            &path("numberOfWinners"),
            "numberOfWinners must be zero if winnerElectionMode is bottomsUpUsingPercentageThreshold",
        ));
    }
    if !bottoms_pct && number_of_winners == 0 {
        return Err(ctx.err(
            &path("numberOfWinners"),
            "if numberOfWinners is zero, winnerElectionMode must be bottomsUpUsingPercentageThreshold",
        ));
    }
    let decimal_places = ctx.int_in(
        &t("decimalPlacesForVoteArithmetic")?,
        &path("decimalPlacesForVoteArithmetic"),
        i64::from(DECIMAL_PLACES_MIN),
        i64::from(DECIMAL_PLACES_MAX),
    )? as u32;
    let min_text = t("minimumVoteThreshold")?;
    let minimum = ctx.int_in(
        if min_text.trim().is_empty() {
            "0"
        } else {
            &min_text
        },
        &path("minimumVoteThreshold"),
        0,
        MINIMUM_VOTE_THRESHOLD_MAX,
    )?;
    let max_skip_text = t("maxSkippedRanksAllowed")?;
    let max_skipped_ranks = if max_skip_text.eq_ignore_ascii_case("unlimited") {
        None
    } else {
        Some(ctx.int_in(
            &max_skip_text,
            &path("maxSkippedRanksAllowed"),
            0,
            i64::from(i32::MAX),
        )? as u32)
    };
    let max_rank_text = t("maxRankingsAllowed")?;
    let max_rankings = if max_rank_text.eq_ignore_ascii_case("max") {
        declared as u32
    } else {
        ctx.int_in(
            &max_rank_text,
            &path("maxRankingsAllowed"),
            1,
            i64::from(i32::MAX),
        )? as u32
    };
    let stop_text = t("stopTabulationEarlyAfterRound")?;
    let stop_after_round = if stop_text.trim().is_empty() {
        None
    } else {
        Some(ctx.int_in(
            &stop_text,
            &path("stopTabulationEarlyAfterRound"),
            1,
            i64::from(i32::MAX),
        )? as u32)
    };
    let bottoms_up_fraction = if bottoms_pct {
        let pct = t("multiSeatBottomsUpPercentageThreshold")?;
        let v = ctx.int_in(&pct, &path("multiSeatBottomsUpPercentageThreshold"), 1, 100)?;
        // RCTab: new BigDecimal(pct).divide(new BigDecimal(100)), exact.
        Dec::from_int(v).div(Dec::from_int(100), 2, urne_tally::decimal::Rounding::Down)
    } else {
        Dec::ZERO
    };
    let rules = Rules {
        mode,
        tiebreak,
        random_seed,
        overvote,
        number_of_winners,
        bottoms_up_fraction,
        decimal_places,
        minimum_vote_threshold: Dec::from_int(minimum),
        max_skipped_ranks,
        max_rankings,
        non_integer_threshold: f("nonIntegerWinningThreshold")?,
        first_round_determines_threshold: f("doesFirstRoundDetermineThreshold")?,
        hare_quota: f("hareQuota")?,
        batch_elimination: f("batchElimination")?,
        cutoff_elimination: f("cutoffElimination")?,
        continue_until_two: f("continueUntilTwoCandidatesRemain")? || legacy_continue_until_two,
        exhaust_on_duplicate: f("exhaustOnDuplicateCandidate")?,
        stop_after_round,
    };
    // nonIntegerWinningThreshold and hareQuota only for the two multi-winner threshold modes.
    let threshold_modes = matches!(
        mode,
        WinnerMode::MultiOnlyOneWinnerPerRound | WinnerMode::MultiMultipleWinnersPerRound
    );
    if !threshold_modes && rules.non_integer_threshold {
        return Err(ctx.err(
            &path("nonIntegerWinningThreshold"),
            format!("can't be true when winnerElectionMode is {mode_text:?}"),
        ));
    }
    if !threshold_modes && rules.hare_quota {
        return Err(ctx.err(
            &path("hareQuota"),
            format!("can't be true when winnerElectionMode is {mode_text:?}"),
        ));
    }
    if rules.non_integer_threshold && rules.hare_quota {
        return Err(ctx.err(
            &path("hareQuota"),
            "nonIntegerWinningThreshold and hareQuota can't both be true",
        ));
    }
    // Multi-pass IRV runs single-winner passes, so single-winner options apply to it.
    let multi = (number_of_winners > 1 && mode != WinnerMode::MultiPassIrv) || bottoms_pct;
    if multi {
        if rules.batch_elimination {
            return Err(ctx.err(
                &path("batchElimination"),
                "batch elimination can't be used in a multi-seat contest",
            ));
        }
        if rules.continue_until_two {
            return Err(ctx.err(
                &path("continueUntilTwoCandidatesRemain"),
                "can't be used in a multi-seat contest",
            ));
        }
    } else {
        if number_of_winners <= 1
            && matches!(
                mode,
                WinnerMode::MultiOnlyOneWinnerPerRound
                    | WinnerMode::MultiMultipleWinnersPerRound
                    | WinnerMode::BottomsUp
                    | WinnerMode::MultiPassIrv
            )
        {
            return Err(ctx.err(
                &path("winnerElectionMode"),
                "a multi-winner mode needs numberOfWinners > 1",
            ));
        }
        if rules.hare_quota {
            return Err(ctx.err(
                &path("hareQuota"),
                "the Hare quota is only for multi-seat contests",
            ));
        }
    }
    if mode == WinnerMode::SingleWinnerMajority && number_of_winners != 1 {
        return Err(ctx.err(
            &path("numberOfWinners"),
            "singleWinnerMajority needs exactly one winner",
        ));
    }
    Ok(rules)
}
