//! Which cases an incident may belong to, ranked, and the monthly
//! reconciliation of a report against the incidents.
//!
//! A suggestion's score adds up evidence, each part with its reason:
//! place (same district 0.4, else province 0.25, else region 0.1), a company
//! of the case among the incident's actors (0.3), an entry of the case within
//! three months of the incident (up to 0.2, less the further it is) and words
//! of the case's name in the incident's title or place (up to 0.1). Dates
//! alone suggest nothing: a report lists hundreds of cases every month.

use std::collections::{HashMap, HashSet};

use chrono::{Months, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::store::{assemble, CaseRow};
use super::{month_index, parse_month, report_month_of, Case, CaseStatus};
use crate::actors::name_key;
use crate::db::DbConn;
use crate::error::AppError;
use crate::events::Event;
use crate::schema::{
    actors, case_companies, case_dismissals, cases, event_actors, event_cases, event_concessions,
    events, report_entries,
};
use crate::text;

const DISTRICT: f64 = 0.4;
const PROVINCE: f64 = 0.25;
const REGION: f64 = 0.1;
const COMPANY: f64 = 0.3;
const TIME: f64 = 0.2;
const NAME: f64 = 0.1;
/// Months around the incident in which a case's entries count.
const WINDOW: i32 = 3;
/// Below this a case is not worth showing.
const THRESHOLD: f64 = 0.2;

#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestion {
    pub case: Case,
    /// 0 to 1, higher is likelier.
    #[schema(example = 0.87)]
    pub score: f64,
    /// The evidence in English words, one sentence per piece.
    #[schema(example = json!(["same district 030410", "company SPCC in both", "case active in report 220 (2022-06), 1 month after the incident"]))]
    pub reasons: Vec<String>,
    /// The same evidence as data, for programs and for the pages, which
    /// say it in the reader's language.
    pub evidence: Vec<Evidence>,
}

/// How near the case's place is to the incident's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceLevel {
    District,
    Province,
    Region,
}

/// One piece of evidence that an incident belongs to a case.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The same district, province or region: `place` is the case's
    /// ubigeo prefix, or its place name when it has no code.
    SamePlace { level: PlaceLevel, place: String },
    /// A company of the case is among the incident's actors.
    Company { name: String },
    /// The case's report entry nearest the incident, within three months;
    /// `months_after` is negative when the entry is before the incident.
    ReportEntry {
        report_number: i32,
        report_month: String,
        status: CaseStatus,
        months_after: i32,
    },
    /// Words of the case's name in the incident's title or place.
    Name { words: Vec<String> },
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::SamePlace { level, place } => {
                let level = match level {
                    PlaceLevel::District => "district",
                    PlaceLevel::Province => "province",
                    PlaceLevel::Region => "region",
                };
                write!(f, "same {level} {place}")
            }
            Evidence::Company { name } => write!(f, "company {name} in both"),
            Evidence::ReportEntry {
                report_number,
                report_month,
                status,
                months_after,
            } => {
                let when = match months_after {
                    0 => "in the month of the incident".to_string(),
                    d if *d > 0 => format!("{} after the incident", months(*d)),
                    d => format!("{} before the incident", months(-d)),
                };
                write!(
                    f,
                    "case {} in report {report_number} ({report_month}), {when}",
                    status_words(*status)
                )
            }
            Evidence::Name { words } => write!(f, "name shares {}", words.join(", ")),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestions {
    /// Best first.
    pub items: Vec<Suggestion>,
}

/// Where something is, as folded names and a ubigeo code.
struct Place {
    ubigeo: Option<String>,
    region: Option<String>,
    province: Option<String>,
    district: Option<String>,
}

fn prefix(code: &Option<String>, len: usize) -> Option<&str> {
    code.as_deref()
        .filter(|c| c.len() >= len)
        .map(|c| &c[..len])
}

fn same(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if !a.is_empty() && a == b)
}

/// The place part of the score and its evidence.
fn place_score(event: &Place, case: &Place) -> Option<(f64, Evidence)> {
    let region_ok = same(&event.region, &case.region)
        || matches!((prefix(&event.ubigeo, 2), prefix(&case.ubigeo, 2)), (Some(a), Some(b)) if a == b);
    let province_code =
        matches!((prefix(&event.ubigeo, 4), prefix(&case.ubigeo, 4)), (Some(a), Some(b)) if a == b);
    let province_ok = province_code || (same(&event.province, &case.province) && region_ok);
    let district_code =
        matches!((prefix(&event.ubigeo, 6), prefix(&case.ubigeo, 6)), (Some(a), Some(b)) if a == b);
    let district_ok = district_code || (same(&event.district, &case.district) && province_ok);
    let label = |len: usize, name: &Option<String>| {
        prefix(&case.ubigeo, len)
            .map(String::from)
            .or_else(|| name.clone())
            .unwrap_or_default()
    };
    let (score, level, place) = if district_ok {
        (DISTRICT, PlaceLevel::District, label(6, &case.district))
    } else if province_ok {
        (PROVINCE, PlaceLevel::Province, label(4, &case.province))
    } else if region_ok {
        (REGION, PlaceLevel::Region, label(2, &case.region))
    } else {
        return None;
    };
    Some((score, Evidence::SamePlace { level, place }))
}

fn status_words(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Activo => "active",
        CaseStatus::Latente => "latent",
        CaseStatus::Resuelto => "resolved",
        CaseStatus::Retirado => "withdrawn",
        CaseStatus::Observacion => "under observation",
    }
}

fn months(n: i32) -> String {
    if n == 1 {
        "1 month".into()
    } else {
        format!("{n} months")
    }
}

/// Words that say nothing about which case it is.
const STOPWORDS: &[&str] = &[
    "para",
    "como",
    "contra",
    "entre",
    "sobre",
    "desde",
    "caso",
    "conflicto",
    "comunidad",
    "comunidades",
    "campesina",
    "campesinas",
    "distrito",
    "provincia",
    "region",
    "empresa",
    "minera",
    "minero",
    "mineros",
    "proyecto",
    "sector",
];

fn words(text: &str) -> HashSet<String> {
    folded_words(&text::fold(text))
}

fn folded_words(folded: &str) -> HashSet<String> {
    folded
        .split(' ')
        .filter(|w| w.chars().count() >= 4 && !STOPWORDS.contains(w))
        .map(String::from)
        .collect()
}

/// For each of `case_ids`, its live entry nearest to the month of `date`
/// within the window: (months from the incident, report number, status).
fn nearest_entries(
    conn: &mut DbConn,
    case_ids: &[String],
    date: NaiveDate,
) -> Result<HashMap<String, (i32, i32, CaseStatus)>, AppError> {
    let mut nearest: HashMap<String, (i32, i32, CaseStatus)> = HashMap::new();
    let (Some(from), Some(to)) = (
        month_start(date, -WINDOW).map(month_text),
        month_start(date, WINDOW).map(month_text),
    ) else {
        return Ok(nearest);
    };
    let event_month = month_index(date);
    for chunk in case_ids.chunks(500) {
        let rows: Vec<(String, i32, String, CaseStatus)> = report_entries::table
            .filter(report_entries::case_id.eq_any(chunk))
            .filter(report_entries::deleted_at.is_null())
            .filter(report_entries::report_month.between(&from, &to))
            .select((
                report_entries::case_id,
                report_entries::report_number,
                report_entries::report_month,
                report_entries::status,
            ))
            .load(conn)?;
        for (case_id, number, month, status) in rows {
            let Some((y, m)) = parse_month(&month) else {
                continue;
            };
            let delta = y * 12 + (m - 1) - event_month;
            // The closest entry; at equal distance, the one after the incident.
            let better = match nearest.get(&case_id) {
                Some((d, _, _)) => (delta.abs(), -delta) < (d.abs(), -d),
                None => true,
            };
            if better {
                nearest.insert(case_id, (delta, number, status));
            }
        }
    }
    Ok(nearest)
}

/// A month `n` months after the month of `date` (before, when negative).
fn month_start(date: NaiveDate, n: i32) -> Option<NaiveDate> {
    let first = date.with_day0(0)?;
    if n >= 0 {
        first.checked_add_months(Months::new(n.unsigned_abs()))
    } else {
        first.checked_sub_months(Months::new(n.unsigned_abs()))
    }
}

use chrono::Datelike;

fn month_text(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

type EventPlaceRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDate,
    String,
    Option<String>,
);

/// The live actors that are, by id, name or alias, one of the incident's
/// actors, each with the name of the incident's actor it stands for. A case
/// may name SPCC through an actor of its own called `SPCC` while the
/// incident names Southern Perú Copper Corporation, whose alias it is.
fn same_company_actors(
    conn: &mut DbConn,
    event_id: &str,
) -> Result<HashMap<String, String>, AppError> {
    let linked: Vec<(String, String, String)> = event_actors::table
        .inner_join(actors::table)
        .filter(event_actors::event_id.eq(event_id))
        .select((actors::id, actors::name, actors::aliases))
        .load(conn)?;
    let mut out: HashMap<String, String> = HashMap::new();
    // Name keys of the incident's actors (names and aliases) → display name.
    let mut keys: HashMap<String, String> = HashMap::new();
    for (id, name, aliases) in &linked {
        let aliases: Vec<String> = serde_json::from_str(aliases)?;
        // Reasons use the shortest name an analyst knows the company by
        // ("SPCC"), as reports and people do.
        let label = std::iter::once(name)
            .chain(&aliases)
            .filter(|n| !n.trim().is_empty())
            .min_by_key(|n| n.chars().count())
            .unwrap_or(name)
            .clone();
        out.insert(id.clone(), label.clone());
        for key in std::iter::once(name).chain(&aliases).map(|n| name_key(n)) {
            if !key.is_empty() {
                keys.entry(key).or_insert_with(|| label.clone());
            }
        }
    }
    if keys.is_empty() {
        return Ok(out);
    }
    // Candidates by name key, or whose folded search text holds a key (an
    // alias); checked exactly below.
    let mut query = actors::table
        .filter(actors::deleted_at.is_null())
        .select((actors::id, actors::name, actors::aliases))
        .into_boxed();
    let key_list: Vec<String> = keys.keys().cloned().collect();
    query = query.filter(actors::name_key.eq_any(key_list.clone()));
    for key in &key_list {
        query = query.or_filter(
            actors::search_text
                .like(text::contains_pattern(key))
                .escape('\\')
                .and(actors::deleted_at.is_null()),
        );
    }
    for (id, name, aliases) in query.load::<(String, String, String)>(conn)? {
        if out.contains_key(&id) {
            continue;
        }
        let aliases: Vec<String> = serde_json::from_str(&aliases)?;
        let shown = std::iter::once(&name)
            .chain(&aliases)
            .find_map(|n| keys.get(&name_key(n)));
        if let Some(shown) = shown {
            out.insert(id, shown.clone());
        }
    }
    Ok(out)
}

/// The live cases that `event_id` may belong to, best first.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %event_id))]
pub fn suggest(
    conn: &mut DbConn,
    event_id: &str,
    limit: usize,
) -> Result<Vec<Suggestion>, AppError> {
    let (ubigeo, region, province, district, occurred_on, title, place): EventPlaceRow =
        events::table
            .find(event_id)
            .filter(events::deleted_at.is_null())
            .select((
                events::ubigeo,
                events::region_key,
                events::province_key,
                events::district_key,
                events::occurred_on,
                events::title,
                events::place,
            ))
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("no event with id {event_id}")))?;
    let event_place = Place {
        ubigeo,
        region,
        province,
        district,
    };
    let event_words = words(&format!("{title} {}", place.unwrap_or_default()));

    let same_company = same_company_actors(conn, event_id)?;
    let ids: Vec<&String> = same_company.keys().collect();
    let mut shared: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for (case_id, actor_id) in case_companies::table
            .filter(case_companies::actor_id.eq_any(chunk))
            .select((case_companies::case_id, case_companies::actor_id))
            .load::<(String, String)>(conn)?
        {
            if let Some(name) = same_company.get(&actor_id) {
                let names = shared.entry(case_id).or_default();
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }

    type Light = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    );
    let all: Vec<Light> = cases::table
        .filter(cases::deleted_at.is_null())
        .select((
            cases::id,
            cases::name,
            cases::name_key,
            cases::ubigeo,
            cases::region_key,
            cases::province_key,
            cases::district_key,
        ))
        .load(conn)?;
    // A case the incident is linked to is no longer a suggestion, nor one an
    // analyst dismissed for it.
    let settled: HashSet<String> = event_cases::table
        .filter(event_cases::event_id.eq(event_id))
        .select(event_cases::case_id)
        .load::<String>(conn)?
        .into_iter()
        .chain(
            case_dismissals::table
                .filter(case_dismissals::event_id.eq(event_id))
                .select(case_dismissals::case_id)
                .load::<String>(conn)?,
        )
        .collect();
    let all: Vec<Light> = all
        .into_iter()
        .filter(|case| !settled.contains(&case.0))
        .collect();
    // First what needs no more queries: place, companies, name. A case with
    // none of them is not suggested for its dates alone.
    struct Candidate {
        id: String,
        name: String,
        score: f64,
        before_time: Vec<Evidence>,
        after_time: Option<Evidence>,
    }
    let mut candidates = Vec::new();
    for (id, name, name_key, ubigeo, region, province, district) in all {
        let mut score = 0.0;
        let mut before_time = Vec::new();
        let case_place = Place {
            ubigeo,
            region,
            province,
            district: Some(district).filter(|d| !d.is_empty()),
        };
        if let Some((s, why)) = place_score(&event_place, &case_place) {
            score += s;
            before_time.push(why);
        }
        if let Some(names) = shared.get(&id) {
            score += COMPANY;
            for n in names {
                before_time.push(Evidence::Company { name: n.clone() });
            }
        }
        // `name_key` is the folded name already.
        let case_words = folded_words(&name_key);
        let mut common: Vec<&String> = case_words.intersection(&event_words).collect();
        let mut after_time = None;
        if !common.is_empty() {
            common.sort();
            score += NAME * common.len() as f64 / case_words.len() as f64;
            after_time = Some(Evidence::Name {
                words: common.into_iter().cloned().collect(),
            });
        }
        if score > 0.0 {
            candidates.push(Candidate {
                id,
                name,
                score,
                before_time,
                after_time,
            });
        }
    }
    let ids: Vec<String> = candidates.iter().map(|c| c.id.clone()).collect();
    let nearest = nearest_entries(conn, &ids, occurred_on)?;
    let mut scored: Vec<(f64, String, String, Vec<Evidence>)> = Vec::new();
    for c in candidates {
        let mut score = c.score;
        let mut reasons = c.before_time;
        if let Some((delta, number, status)) = nearest.get(&c.id) {
            score += TIME * (1.0 - f64::from(delta.abs()) / f64::from(WINDOW + 1));
            reasons.push(Evidence::ReportEntry {
                report_number: *number,
                report_month: report_month_of(*number).unwrap_or_default(),
                status: *status,
                months_after: *delta,
            });
        }
        reasons.extend(c.after_time);
        if score >= THRESHOLD {
            scored.push(((score * 1000.0).round() / 1000.0, c.name, c.id, reasons));
        }
    }
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    scored.truncate(limit);
    let ids: Vec<String> = scored.iter().map(|s| s.2.clone()).collect();
    let rows: Vec<CaseRow> = cases::table
        .filter(cases::id.eq_any(&ids))
        .select(CaseRow::as_select())
        .load(conn)?;
    let mut found: HashMap<String, Case> = assemble(conn, rows)?
        .into_iter()
        .map(|c| (c.id.to_string(), c))
        .collect();
    Ok(scored
        .into_iter()
        .filter_map(|(score, _, id, evidence)| {
            found.remove(&id).map(|case| Suggestion {
                case,
                score,
                reasons: evidence.iter().map(ToString::to_string).collect(),
                evidence,
            })
        })
        .collect())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reconciliation {
    #[schema(example = 220)]
    pub report_number: i32,
    #[schema(example = "2022-06")]
    pub report_month: String,
    /// Cases of the report with no linked incident in its month ±1.
    pub cases_without_events: Vec<Case>,
    /// Incidents of the month ±1 in a mining concession or with a company
    /// among their actors, linked to no case.
    pub events_without_case: Vec<Event>,
}

/// Checks report `number` against the incidents.
#[tracing::instrument(level = "debug", skip_all, fields(report = number))]
pub fn reconcile(
    conn: &mut DbConn,
    number: i32,
    load_events: impl FnOnce(&mut DbConn, &[String]) -> Result<Vec<Event>, AppError>,
) -> Result<Reconciliation, AppError> {
    let month = report_month_of(number).unwrap_or_default();
    let listed: Vec<String> = report_entries::table
        .inner_join(cases::table)
        .filter(report_entries::report_number.eq(number))
        .filter(report_entries::deleted_at.is_null())
        .filter(cases::deleted_at.is_null())
        .select(cases::id)
        .load(conn)?;
    if listed.is_empty() {
        return Err(AppError::NotFound(format!(
            "no case is recorded in report {number} ({month})"
        )));
    }
    let first = parse_month(&month)
        .and_then(|(y, m)| NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, 1))
        .ok_or_else(|| AppError::internal(format!("report month {month:?}")))?;
    let (from, to) = (
        month_start(first, -1).unwrap_or(first),
        month_start(first, 2)
            .and_then(|d| d.pred_opt())
            .unwrap_or(first),
    );
    let with_events: HashSet<String> = event_cases::table
        .inner_join(events::table)
        .filter(event_cases::case_id.eq_any(&listed))
        .filter(events::deleted_at.is_null())
        .filter(events::occurred_on.between(from, to))
        .select(event_cases::case_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let lonely: Vec<&String> = listed
        .iter()
        .filter(|id| !with_events.contains(*id))
        .collect();
    let rows: Vec<CaseRow> = cases::table
        .filter(cases::id.eq_any(&lonely))
        .order((cases::name.asc(), cases::id.asc()))
        .select(CaseRow::as_select())
        .load(conn)?;
    let cases_without_events = assemble(conn, rows)?;

    let mining = event_concessions::table.select(event_concessions::event_id);
    let with_company = event_actors::table
        .inner_join(actors::table)
        .filter(actors::kind.eq(crate::actors::ActorKind::Company))
        .select(event_actors::event_id);
    let linked = event_cases::table
        .inner_join(cases::table)
        .filter(cases::deleted_at.is_null())
        .select(event_cases::event_id);
    let ids: Vec<String> = events::table
        .filter(events::deleted_at.is_null())
        .filter(events::occurred_on.between(from, to))
        .filter(
            events::id
                .eq_any(mining)
                .or(events::id.eq_any(with_company)),
        )
        .filter(diesel::dsl::not(events::id.eq_any(linked)))
        .order((events::occurred_on.asc(), events::id.asc()))
        .select(events::id)
        .load(conn)?;
    let events_without_case = load_events(conn, &ids)?;
    Ok(Reconciliation {
        report_number: number,
        report_month: month,
        cases_without_events,
        events_without_case,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(ubigeo: &str, names: [&str; 3]) -> Place {
        let name = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        Place {
            ubigeo: name(ubigeo),
            region: name(names[0]),
            province: name(names[1]),
            district: name(names[2]),
        }
    }

    #[test]
    fn district_beats_province_beats_region() {
        let event = place("030410", ["apurimac", "aymaraes", "pocohuanca"]);
        let same = place("030410", ["", "", ""]);
        let by_name = place("", ["apurimac", "aymaraes", "pocohuanca"]);
        let province = place("030404", ["apurimac", "aymaraes", "cotaruse"]);
        let region = place("0301", ["apurimac", "abancay", ""]);
        let other = place("040702", ["arequipa", "islay", "cocachacra"]);
        assert_eq!(place_score(&event, &same).map(|p| p.0), Some(DISTRICT));
        assert_eq!(place_score(&event, &by_name).map(|p| p.0), Some(DISTRICT));
        assert_eq!(place_score(&event, &province).map(|p| p.0), Some(PROVINCE));
        assert_eq!(place_score(&event, &region).map(|p| p.0), Some(REGION));
        assert!(place_score(&event, &other).is_none());
        // The same district name in another province is another district.
        let namesake = place("", ["apurimac", "andahuaylas", "pocohuanca"]);
        assert_eq!(place_score(&event, &namesake).map(|p| p.0), Some(REGION));
    }

    #[test]
    fn month_arithmetic() {
        let d = NaiveDate::from_ymd_opt(2022, 5, 17).expect("date");
        assert_eq!(
            month_start(d, -3).map(month_text).as_deref(),
            Some("2022-02")
        );
        assert_eq!(
            month_start(d, 8).map(month_text).as_deref(),
            Some("2023-01")
        );
    }
}
