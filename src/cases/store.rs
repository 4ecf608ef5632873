//! Storage of cases, report entries and incident–case links; every change
//! audited in its transaction, deletes soft. A case's `status`, `phase`,
//! `first_report` and `last_report` are rewritten from its live entries in
//! the transaction of every entry change ([`refresh`]).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::{
    Case, CaseFields, CaseRef, CaseStatus, CaseType, Entry, EntryFields, Phase, ReportRef,
};
use crate::audit::{self, Action, Actor as Who, Entity};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};
use crate::http::IfMatch;
use crate::places::HolderRef;
use crate::schema::{
    actors, case_companies, case_dismissals, cases, districts, event_cases, events, report_entries,
};
use crate::text;

const ENTITY: Entity = Entity::Case;
const ENTRY: Entity = Entity::ReportEntry;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true)]
pub(crate) struct CaseRow {
    pub id: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: String,
    pub name: String,
    pub case_type: CaseType,
    pub activity: Option<String>,
    pub region: Option<String>,
    pub province: Option<String>,
    pub district: Option<String>,
    pub ubigeo: Option<String>,
    pub name_key: String,
    pub region_key: Option<String>,
    pub province_key: Option<String>,
    pub district_key: String,
    pub status: Option<CaseStatus>,
    pub phase: Option<Phase>,
    pub first_report: Option<i32>,
    pub last_report: Option<i32>,
    pub deleted_at: Option<NaiveDateTime>,
}

/// The identity of a case: its folded name and folded district.
pub fn identity(name: &str, district: Option<&str>) -> (String, String) {
    (
        text::fold(name),
        district.map(text::fold).unwrap_or_default(),
    )
}

fn uuid(value: &str, column: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(value).map_err(|e| AppError::internal_from(format!("{column} {value:?}"), e))
}

impl CaseRow {
    fn new(
        id: String,
        version: i64,
        created: (NaiveDateTime, String),
        updated_at: NaiveDateTime,
        f: &CaseFields,
    ) -> Self {
        let (name_key, district_key) = identity(&f.name, f.district.as_deref());
        CaseRow {
            id,
            version,
            created_at: created.0,
            created_by: created.1,
            updated_at,
            name: f.name.clone(),
            case_type: f.case_type,
            activity: f.activity.clone(),
            region: f.region.clone(),
            province: f.province.clone(),
            district: f.district.clone(),
            ubigeo: f.ubigeo.clone(),
            name_key,
            region_key: f.region.as_deref().map(text::fold),
            province_key: f.province.as_deref().map(text::fold),
            district_key,
            status: None,
            phase: None,
            first_report: None,
            last_report: None,
            deleted_at: None,
        }
    }

    fn into_case(self, companies: Vec<HolderRef>) -> Result<Case, AppError> {
        Ok(Case {
            id: uuid(&self.id, "cases.id")?,
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            created_by: self.created_by,
            name: self.name,
            case_type: self.case_type,
            activity: self.activity,
            region: self.region,
            province: self.province,
            district: self.district,
            ubigeo: self.ubigeo,
            companies,
            status: self.status,
            phase: self.phase,
            first_report: self.first_report.map(ReportRef::of),
            last_report: self.last_report.map(ReportRef::of),
            entries: None,
            warnings: Vec::new(),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = report_entries, treat_none_as_null = true)]
pub(crate) struct EntryRow {
    pub id: String,
    pub case_id: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: String,
    pub report_number: i32,
    pub report_month: String,
    pub status: CaseStatus,
    pub phase: Option<Phase>,
    pub violence: bool,
    pub dialogue: bool,
    pub description: String,
    pub deleted_at: Option<NaiveDateTime>,
}

impl EntryRow {
    pub(crate) fn new(
        id: String,
        case_id: String,
        version: i64,
        created: (NaiveDateTime, String),
        updated_at: NaiveDateTime,
        f: &EntryFields,
    ) -> Self {
        EntryRow {
            id,
            case_id,
            version,
            created_at: created.0,
            created_by: created.1,
            updated_at,
            report_number: f.report_number,
            report_month: f.report_month.clone(),
            status: f.status,
            phase: f.phase,
            violence: f.violence,
            dialogue: f.dialogue,
            description: f.description.clone(),
            deleted_at: None,
        }
    }

    pub(crate) fn into_entry(self) -> Result<Entry, AppError> {
        Ok(Entry {
            id: uuid(&self.id, "report_entries.id")?,
            case_id: uuid(&self.case_id, "report_entries.case_id")?,
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            created_by: self.created_by,
            report_number: self.report_number,
            report_month: self.report_month,
            status: self.status,
            phase: self.phase,
            violence: self.violence,
            dialogue: self.dialogue,
            description: self.description,
        })
    }

    pub(crate) fn fields(&self) -> Result<EntryFields, AppError> {
        Ok(self.clone().into_entry()?.fields())
    }
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no case with id {id}"))
}

/// A district (or province) name the boundaries do not know, and the wider
/// area the place was coded to instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    /// `district` or `province`: what was not found.
    pub level: &'static str,
    /// The name as given.
    pub name: String,
    /// `province`, `region` or `nothing`.
    pub coded_to: &'static str,
    pub ubigeo: Option<String>,
}

impl Fallback {
    pub fn message(&self) -> String {
        match &self.ubigeo {
            Some(code) => format!(
                "{} {:?} is not among the districts loaded; coded to the {} {code}",
                self.level, self.name, self.coded_to
            ),
            None => format!(
                "{} {:?} is not among the districts loaded; left without a ubigeo",
                self.level, self.name
            ),
        }
    }
}

/// Ubigeo codes by folded region, province and district names, from the
/// loaded district boundaries (empty when none are loaded).
#[derive(Default)]
pub struct DistrictNames {
    districts: HashMap<(String, String, String), String>,
    provinces: HashMap<(String, String), String>,
    regions: HashMap<String, String>,
}

impl DistrictNames {
    pub fn load(conn: &mut DbConn) -> Result<Self, AppError> {
        let rows: Vec<(String, String, String, String)> = districts::table
            .select((
                districts::ubigeo,
                districts::name,
                districts::province,
                districts::region,
            ))
            .load(conn)?;
        let mut names = DistrictNames::default();
        for (ubigeo, name, province, region) in rows {
            let (r, p, d) = (
                text::fold(&region),
                text::fold(&province),
                text::fold(&name),
            );
            if ubigeo.len() == 6 {
                names
                    .provinces
                    .entry((r.clone(), p.clone()))
                    .or_insert_with(|| ubigeo[..4].to_string());
                names
                    .regions
                    .entry(r.clone())
                    .or_insert_with(|| ubigeo[..2].to_string());
            }
            names.districts.insert((r, p, d), ubigeo);
        }
        Ok(names)
    }

    /// The most precise code the names give, and, when a name given was not
    /// found and the code is of a wider area, what fell back.
    pub fn resolve(
        &self,
        region: Option<&str>,
        province: Option<&str>,
        district: Option<&str>,
    ) -> (Option<String>, Option<Fallback>) {
        let code = self.ubigeo(region, province, district);
        // What the names asked for: 6 digits with a district, 4 with a
        // province, 2 with a region alone.
        let (wanted, name, level) = match (district, province) {
            (Some(d), _) => (6, d, "district"),
            (None, Some(p)) => (4, p, "province"),
            (None, None) => return (code, None),
        };
        let got = code.as_ref().map_or(0, String::len);
        if region.is_none() || got >= wanted {
            return (code, None);
        }
        let fallback = Fallback {
            level,
            name: name.to_string(),
            coded_to: match got {
                4 => "province",
                2 => "region",
                _ => "nothing",
            },
            ubigeo: code.clone(),
        };
        (code, Some(fallback))
    }

    /// The most precise code the names give, if the boundaries know them.
    pub fn ubigeo(
        &self,
        region: Option<&str>,
        province: Option<&str>,
        district: Option<&str>,
    ) -> Option<String> {
        let r = text::fold(region?);
        match (province.map(text::fold), district.map(text::fold)) {
            (Some(p), Some(d)) => self
                .districts
                .get(&(r.clone(), p.clone(), d))
                .or_else(|| self.provinces.get(&(r.clone(), p)))
                .or_else(|| self.regions.get(&r))
                .cloned(),
            (Some(p), None) => self
                .provinces
                .get(&(r.clone(), p))
                .or_else(|| self.regions.get(&r))
                .cloned(),
            _ => self.regions.get(&r).cloned(),
        }
    }
}

/// The companies of each case, by name.
pub(crate) fn companies_of(
    conn: &mut DbConn,
    case_ids: &[String],
) -> Result<HashMap<String, Vec<HolderRef>>, AppError> {
    let mut out: HashMap<String, Vec<HolderRef>> = HashMap::new();
    for chunk in case_ids.chunks(500) {
        let rows: Vec<(String, String, String)> = case_companies::table
            .inner_join(actors::table)
            .filter(case_companies::case_id.eq_any(chunk))
            .order((case_companies::case_id, actors::name, actors::id))
            .select((case_companies::case_id, actors::id, actors::name))
            .load(conn)?;
        for (case_id, actor_id, name) in rows {
            out.entry(case_id).or_default().push(HolderRef {
                id: uuid(&actor_id, "case_companies.actor_id")?,
                name,
            });
        }
    }
    Ok(out)
}

/// Cases from their rows, with their companies.
pub(crate) fn assemble(conn: &mut DbConn, rows: Vec<CaseRow>) -> Result<Vec<Case>, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut companies = companies_of(conn, &ids)?;
    rows.into_iter()
        .map(|r| {
            let c = companies.remove(&r.id).unwrap_or_default();
            r.into_case(c)
        })
        .collect()
}

fn load_row(conn: &mut DbConn, id: &str) -> Result<CaseRow, AppError> {
    cases::table
        .find(id)
        .filter(cases::deleted_at.is_null())
        .select(CaseRow::as_select())
        .first::<CaseRow>(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// A live case with its companies (no entries).
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub fn load(conn: &mut DbConn, id: &str) -> Result<Case, AppError> {
    let row = load_row(conn, id)?;
    assemble(conn, vec![row])?
        .pop()
        .ok_or_else(|| not_found(id))
}

/// A live case with its timeline.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub fn load_with_entries(conn: &mut DbConn, id: &str) -> Result<Case, AppError> {
    let mut case = load(conn, id)?;
    case.entries = Some(entries_of(conn, id)?);
    Ok(case)
}

/// The live entries of a case, by report number.
#[tracing::instrument(level = "debug", skip_all, fields(case_id = %case_id))]
pub fn entries_of(conn: &mut DbConn, case_id: &str) -> Result<Vec<Entry>, AppError> {
    report_entries::table
        .filter(report_entries::case_id.eq(case_id))
        .filter(report_entries::deleted_at.is_null())
        .order(report_entries::report_number.asc())
        .select(EntryRow::as_select())
        .load::<EntryRow>(conn)?
        .into_iter()
        .map(EntryRow::into_entry)
        .collect()
}

fn lock(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    if let DbConn::Pg(pg) = conn {
        cases::table
            .find(id)
            .select(cases::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

/// Refuses a name and district another live case already has.
fn identity_taken(conn: &mut DbConn, row: &CaseRow) -> Result<(), AppError> {
    let other = cases::table
        .filter(cases::name_key.eq(&row.name_key))
        .filter(cases::district_key.eq(&row.district_key))
        .filter(cases::deleted_at.is_null())
        .filter(cases::id.ne(&row.id))
        .select(cases::id)
        .first::<String>(conn)
        .optional()?;
    match other {
        Some(other) => Err(AppError::Conflict(format!(
            "case {other} already has this name in this district"
        ))),
        None => Ok(()),
    }
}

/// Checks that every company is a live actor (422 naming the bad ones).
fn check_companies(conn: &mut DbConn, ids: &[String]) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let live: Vec<String> = actors::table
        .filter(actors::id.eq_any(ids))
        .filter(actors::deleted_at.is_null())
        .select(actors::id)
        .load(conn)?;
    let errors: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !live.contains(id))
        .map(|(i, id)| FieldError::new(format!("companies[{i}]"), format!("no actor with id {id}")))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

pub(crate) fn set_companies(
    conn: &mut DbConn,
    case_id: &str,
    ids: &[String],
) -> Result<(), AppError> {
    diesel::delete(case_companies::table.filter(case_companies::case_id.eq(case_id)))
        .execute(conn)?;
    for actor_id in ids {
        diesel::insert_into(case_companies::table)
            .values((
                case_companies::case_id.eq(case_id),
                case_companies::actor_id.eq(actor_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// [`with_ubigeo`] for a writer through the API: also the warning to give
/// when a name given was not found and the code is of a wider area.
fn with_ubigeo_warned(
    mut fields: CaseFields,
    names: &DistrictNames,
) -> (CaseFields, Vec<crate::rules::Warning>) {
    let mut warnings = Vec::new();
    if fields.ubigeo.is_none() {
        let (code, fallback) = names.resolve(
            fields.region.as_deref(),
            fields.province.as_deref(),
            fields.district.as_deref(),
        );
        fields.ubigeo = code;
        if let Some(fallback) = fallback {
            warnings.push(crate::rules::Warning {
                code: format!("{}_not_found", fallback.level),
                field: fallback.level.to_string(),
                message: fallback.message(),
            });
        }
    }
    (fields, warnings)
}

/// Fills a missing ubigeo from the names, when the boundaries know them
/// (the import reports what fell back on its own, per line).
pub(crate) fn with_ubigeo(fields: CaseFields, names: &DistrictNames) -> CaseFields {
    with_ubigeo_warned(fields, names).0
}

/// Inserts a case; call inside a write transaction.
pub(crate) fn insert(conn: &mut DbConn, who: &Who, fields: &CaseFields) -> Result<Case, AppError> {
    let now = db::now();
    let row = CaseRow::new(
        Uuid::new_v4().to_string(),
        1,
        (now, who.name.clone()),
        now,
        fields,
    );
    identity_taken(conn, &row)?;
    diesel::insert_into(cases::table)
        .values(&row)
        .execute(conn)?;
    set_companies(conn, &row.id, &fields.companies)?;
    let case = load(conn, &row.id)?;
    audit::record(
        conn,
        who,
        Action::Create,
        ENTITY,
        &row.id,
        None::<&()>,
        Some(&case),
    )?;
    Ok(case)
}

#[tracing::instrument(level = "info", skip_all)]
pub fn create(conn: &mut DbConn, who: &Who, fields: CaseFields) -> Result<Case, AppError> {
    db::write_tx(conn, |conn| {
        check_companies(conn, &fields.companies)?;
        let names = DistrictNames::load(conn)?;
        let (fields, warnings) = with_ubigeo_warned(fields, &names);
        let mut case = insert(conn, who, &fields)?;
        case.warnings = warnings;
        Ok(case)
    })
}

/// Rewrites a case's fields (version + 1, audited); call inside a write
/// transaction, after checking the version.
pub(crate) fn rewrite(
    conn: &mut DbConn,
    who: &Who,
    before: &Case,
    fields: &CaseFields,
) -> Result<Case, AppError> {
    let id = before.id.to_string();
    let mut row = CaseRow::new(
        id.clone(),
        before.version + 1,
        (before.created_at.naive_utc(), before.created_by.clone()),
        db::now(),
        fields,
    );
    identity_taken(conn, &row)?;
    // The derived columns stay as the entries make them.
    row.status = before.status;
    row.phase = before.phase;
    row.first_report = before.first_report.as_ref().map(|r| r.number);
    row.last_report = before.last_report.as_ref().map(|r| r.number);
    diesel::update(cases::table.find(&id))
        .set(&row)
        .execute(conn)?;
    set_companies(conn, &id, &fields.companies)?;
    let after = load(conn, &id)?;
    audit::record(
        conn,
        who,
        Action::Update,
        ENTITY,
        &id,
        Some(before),
        Some(&after),
    )?;
    Ok(after)
}

#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn update(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    change: impl FnOnce(&Case) -> Result<CaseFields, AppError>,
) -> Result<Case, AppError> {
    db::write_tx(conn, |conn| {
        lock(conn, id)?;
        let before = load(conn, id)?;
        let fields = change(&before)?;
        check_companies(conn, &fields.companies)?;
        if_match.check(before.version)?;
        let names = DistrictNames::load(conn)?;
        let (fields, warnings) = with_ubigeo_warned(fields, &names);
        let mut after = rewrite(conn, who, &before, &fields)?;
        after.warnings = warnings;
        Ok(after)
    })
}

#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn delete(conn: &mut DbConn, who: &Who, id: &str, if_match: &IfMatch) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        lock(conn, id)?;
        let before = load(conn, id)?;
        if_match.check(before.version)?;
        let now = db::now();
        diesel::update(cases::table.find(id))
            .set((
                cases::deleted_at.eq(Some(now)),
                cases::updated_at.eq(now),
                cases::version.eq(before.version + 1),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            Action::Delete,
            ENTITY,
            id,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}

#[derive(Debug, Default)]
pub struct CaseFilter {
    /// Folded words that must all occur in the name.
    pub words: Vec<String>,
    pub status: Option<CaseStatus>,
    pub region: Option<String>,
    pub ubigeo_prefix: Option<String>,
    pub report_number: Option<i32>,
    pub after: Option<(String, String)>,
    pub limit: i64,
}

/// Live cases by name; up to `limit + 1` for the pager.
#[tracing::instrument(level = "debug", skip_all, fields(limit = f.limit))]
pub fn list(conn: &mut DbConn, f: &CaseFilter) -> Result<Vec<Case>, AppError> {
    let mut query = cases::table
        .select(CaseRow::as_select())
        .filter(cases::deleted_at.is_null())
        .into_boxed();
    for word in &f.words {
        query = query.filter(
            cases::name_key
                .like(text::contains_pattern(word))
                .escape('\\'),
        );
    }
    if let Some(status) = f.status {
        query = query.filter(cases::status.eq(status));
    }
    if let Some(region) = &f.region {
        query = query.filter(cases::region_key.eq(text::fold(region)));
    }
    if let Some(prefix) = &f.ubigeo_prefix {
        // Checked to be digits by the caller, so no LIKE wildcard can slip in.
        query = query.filter(cases::ubigeo.like(format!("{prefix}%")));
    }
    if let Some(number) = f.report_number {
        let listed = report_entries::table
            .filter(report_entries::report_number.eq(number))
            .filter(report_entries::deleted_at.is_null())
            .select(report_entries::case_id);
        query = query.filter(cases::id.eq_any(listed));
    }
    if let Some((name, id)) = &f.after {
        query = query.filter(
            cases::name
                .gt(name.clone())
                .or(cases::name.eq(name.clone()).and(cases::id.gt(id.clone()))),
        );
    }
    let rows = query
        .order((cases::name.asc(), cases::id.asc()))
        .limit(f.limit + 1)
        .load::<CaseRow>(conn)?;
    assemble(conn, rows)
}

/// Brings a deleted case back with its entries (admin). 409 if it is not
/// deleted, or if a live case has taken its name in its district meanwhile
/// (an import after the delete): merge by hand then.
#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn restore(conn: &mut DbConn, who: &Who, id: &str) -> Result<Case, AppError> {
    db::write_tx(conn, |conn| {
        lock(conn, id)?;
        let row: CaseRow = cases::table
            .find(id)
            .select(CaseRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| not_found(id))?;
        if row.deleted_at.is_none() {
            return Err(AppError::Conflict(format!("case {id} is not deleted")));
        }
        identity_taken(conn, &row)?;
        diesel::update(cases::table.find(id))
            .set((
                cases::deleted_at.eq(None::<NaiveDateTime>),
                cases::updated_at.eq(db::now()),
                cases::version.eq(row.version + 1),
            ))
            .execute(conn)?;
        refresh(conn, id)?;
        let after = load_with_entries(conn, id)?;
        audit::record(
            conn,
            who,
            Action::Restore,
            ENTITY,
            id,
            None::<&()>,
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Rewrites a case's derived state from its live entries.
pub(crate) fn refresh(conn: &mut DbConn, case_id: &str) -> Result<(), AppError> {
    let rows: Vec<(i32, CaseStatus, Option<Phase>)> = report_entries::table
        .filter(report_entries::case_id.eq(case_id))
        .filter(report_entries::deleted_at.is_null())
        .order(report_entries::report_number.desc())
        .select((
            report_entries::report_number,
            report_entries::status,
            report_entries::phase,
        ))
        .load(conn)?;
    let latest = rows.first();
    diesel::update(cases::table.find(case_id))
        .set((
            cases::status.eq(latest.map(|r| r.1)),
            cases::phase.eq(latest.and_then(|r| r.2)),
            cases::last_report.eq(latest.map(|r| r.0)),
            cases::first_report.eq(rows.last().map(|r| r.0)),
        ))
        .execute(conn)?;
    Ok(())
}

fn entry_not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no report entry with id {id}"))
}

/// A live entry of a live case.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub fn load_entry(conn: &mut DbConn, id: &str) -> Result<Entry, AppError> {
    report_entries::table
        .inner_join(cases::table)
        .filter(report_entries::id.eq(id))
        .filter(report_entries::deleted_at.is_null())
        .filter(cases::deleted_at.is_null())
        .select(EntryRow::as_select())
        .first::<EntryRow>(conn)
        .optional()?
        .ok_or_else(|| entry_not_found(id))?
        .into_entry()
}

/// Refuses a second live entry of one case in one report.
fn report_taken(
    conn: &mut DbConn,
    case_id: &str,
    number: i32,
    except: &str,
) -> Result<(), AppError> {
    let other = report_entries::table
        .filter(report_entries::case_id.eq(case_id))
        .filter(report_entries::report_number.eq(number))
        .filter(report_entries::deleted_at.is_null())
        .filter(report_entries::id.ne(except))
        .select(report_entries::id)
        .first::<String>(conn)
        .optional()?;
    match other {
        Some(other) => Err(AppError::Conflict(format!(
            "the case already has an entry for report {number}: {other}"
        ))),
        None => Ok(()),
    }
}

#[tracing::instrument(level = "info", skip_all, fields(case_id = %case_id))]
pub fn create_entry(
    conn: &mut DbConn,
    who: &Who,
    case_id: &str,
    fields: &EntryFields,
) -> Result<Entry, AppError> {
    db::write_tx(conn, |conn| {
        lock(conn, case_id)?;
        load_row(conn, case_id)?;
        let now = db::now();
        let row = EntryRow::new(
            Uuid::new_v4().to_string(),
            case_id.to_string(),
            1,
            (now, who.name.clone()),
            now,
            fields,
        );
        report_taken(conn, case_id, fields.report_number, &row.id)?;
        diesel::insert_into(report_entries::table)
            .values(&row)
            .execute(conn)?;
        refresh(conn, case_id)?;
        let entry = row.into_entry()?;
        audit::record(
            conn,
            who,
            Action::Create,
            ENTRY,
            &entry.id.to_string(),
            None::<&()>,
            Some(&entry),
        )?;
        Ok(entry)
    })
}

fn case_of_entry(conn: &mut DbConn, id: &str) -> Result<String, AppError> {
    report_entries::table
        .find(id)
        .select(report_entries::case_id)
        .first::<String>(conn)
        .optional()?
        .ok_or_else(|| entry_not_found(id))
}

#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn update_entry(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    change: impl FnOnce(&Entry) -> Result<EntryFields, AppError>,
) -> Result<Entry, AppError> {
    db::write_tx(conn, |conn| {
        let case_id = case_of_entry(conn, id)?;
        lock(conn, &case_id)?;
        let before = load_entry(conn, id)?;
        let fields = change(&before)?;
        if_match.check(before.version)?;
        report_taken(conn, &case_id, fields.report_number, id)?;
        let row = EntryRow::new(
            id.to_string(),
            case_id.clone(),
            before.version + 1,
            (before.created_at.naive_utc(), before.created_by.clone()),
            db::now(),
            &fields,
        );
        diesel::update(report_entries::table.find(id))
            .set(&row)
            .execute(conn)?;
        refresh(conn, &case_id)?;
        let after = row.into_entry()?;
        audit::record(
            conn,
            who,
            Action::Update,
            ENTRY,
            id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn delete_entry(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        let case_id = case_of_entry(conn, id)?;
        lock(conn, &case_id)?;
        let before = load_entry(conn, id)?;
        if_match.check(before.version)?;
        let now = db::now();
        diesel::update(report_entries::table.find(id))
            .set((
                report_entries::deleted_at.eq(Some(now)),
                report_entries::updated_at.eq(now),
                report_entries::version.eq(before.version + 1),
            ))
            .execute(conn)?;
        refresh(conn, &case_id)?;
        audit::record(
            conn,
            who,
            Action::Delete,
            ENTRY,
            id,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}

/// The live cases of each of `event_ids`.
#[tracing::instrument(level = "debug", skip_all, fields(events = event_ids.len()))]
pub fn for_events(
    conn: &mut DbConn,
    event_ids: &[String],
) -> Result<HashMap<String, Vec<CaseRef>>, AppError> {
    type Row = (
        String,
        String,
        String,
        Option<CaseStatus>,
        Option<i32>,
        Option<String>,
    );
    let rows: Vec<Row> = event_cases::table
        .inner_join(cases::table)
        .filter(event_cases::event_id.eq_any(event_ids))
        .filter(cases::deleted_at.is_null())
        .order((event_cases::event_id, cases::name, cases::id))
        .select((
            event_cases::event_id,
            cases::id,
            cases::name,
            cases::status,
            cases::last_report,
            event_cases::note,
        ))
        .load(conn)?;
    let mut out: HashMap<String, Vec<CaseRef>> = HashMap::new();
    for (event_id, case_id, name, status, last_report, note) in rows {
        out.entry(event_id).or_default().push(CaseRef {
            id: uuid(&case_id, "event_cases.case_id")?,
            name,
            status,
            last_report: last_report.map(ReportRef::of),
            note,
        });
    }
    Ok(out)
}

#[derive(serde::Serialize)]
struct LinkRecord<'a> {
    event_id: &'a str,
    case_id: &'a str,
    note: Option<&'a str>,
}

fn live_event(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    events::table
        .find(id)
        .filter(events::deleted_at.is_null())
        .select(events::id)
        .first::<String>(conn)
        .optional()?
        .map(|_| ())
        .ok_or_else(|| AppError::NotFound(format!("no event with id {id}")))
}

/// Links an incident to a case; linking again replaces the note.
#[tracing::instrument(level = "info", skip_all, fields(event_id = %event_id, case_id = %case_id))]
pub fn link(
    conn: &mut DbConn,
    who: &Who,
    event_id: &str,
    case_id: &str,
    note: Option<&str>,
) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        live_event(conn, event_id)?;
        load_row(conn, case_id).map_err(|_| {
            AppError::Validation(vec![FieldError::new(
                "case_id",
                format!("no case with id {case_id}"),
            )])
        })?;
        let key = event_cases::table
            .filter(event_cases::event_id.eq(event_id))
            .filter(event_cases::case_id.eq(case_id));
        let before: Option<Option<String>> =
            key.select(event_cases::note).first(conn).optional()?;
        diesel::delete(key).execute(conn)?;
        diesel::insert_into(event_cases::table)
            .values((
                event_cases::event_id.eq(event_id),
                event_cases::case_id.eq(case_id),
                event_cases::note.eq(note),
                event_cases::created_at.eq(db::now()),
                event_cases::created_by.eq(&who.name),
            ))
            .execute(conn)?;
        let before = before.map(|note| (event_id, case_id, note));
        audit::record(
            conn,
            who,
            if before.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            Entity::EventCase,
            event_id,
            before
                .as_ref()
                .map(|(e, c, n)| LinkRecord {
                    event_id: e,
                    case_id: c,
                    note: n.as_deref(),
                })
                .as_ref(),
            Some(&LinkRecord {
                event_id,
                case_id,
                note,
            }),
        )?;
        Ok(())
    })
}

/// Remembers that an incident does not belong to a case, so that the case
/// is not suggested for it again. Dismissing twice changes nothing.
#[tracing::instrument(level = "info", skip_all, fields(event_id = %event_id, case_id = %case_id))]
pub fn dismiss(
    conn: &mut DbConn,
    who: &Who,
    event_id: &str,
    case_id: &str,
) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        live_event(conn, event_id)?;
        load_row(conn, case_id)?;
        let key = case_dismissals::table
            .filter(case_dismissals::event_id.eq(event_id))
            .filter(case_dismissals::case_id.eq(case_id));
        if key
            .select(case_dismissals::case_id)
            .first::<String>(conn)
            .optional()?
            .is_some()
        {
            return Ok(());
        }
        diesel::insert_into(case_dismissals::table)
            .values((
                case_dismissals::event_id.eq(event_id),
                case_dismissals::case_id.eq(case_id),
                case_dismissals::dismissed_at.eq(db::now()),
                case_dismissals::dismissed_by.eq(&who.name),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            Action::Create,
            Entity::CaseDismissal,
            event_id,
            None::<&LinkRecord>,
            Some(&LinkRecord {
                event_id,
                case_id,
                note: None,
            }),
        )?;
        Ok(())
    })
}

#[tracing::instrument(level = "info", skip_all, fields(event_id = %event_id, case_id = %case_id))]
pub fn unlink(conn: &mut DbConn, who: &Who, event_id: &str, case_id: &str) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        live_event(conn, event_id)?;
        let key = event_cases::table
            .filter(event_cases::event_id.eq(event_id))
            .filter(event_cases::case_id.eq(case_id));
        let note: Option<String> = key
            .select(event_cases::note)
            .first::<Option<String>>(conn)
            .optional()?
            .ok_or_else(|| {
                AppError::NotFound(format!("case {case_id} is not linked to event {event_id}"))
            })?;
        diesel::delete(key).execute(conn)?;
        audit::record(
            conn,
            who,
            Action::Delete,
            Entity::EventCase,
            event_id,
            Some(&LinkRecord {
                event_id,
                case_id,
                note: note.as_deref(),
            }),
            None::<&()>,
        )?;
        Ok(())
    })
}

/// Names `into` wherever `from` was a case's company (an actor merge), each
/// live case's change audited. Returns how many cases changed.
pub fn companies_merged(
    conn: &mut DbConn,
    who: &Who,
    from: &str,
    into: &str,
) -> Result<usize, AppError> {
    let case_ids: Vec<String> = case_companies::table
        .filter(case_companies::actor_id.eq(from))
        .select(case_companies::case_id)
        .load(conn)?;
    for case_id in &case_ids {
        let before = match load(conn, case_id) {
            Ok(case) => Some(case),
            // A deleted case keeps its companies too, unaudited until restored.
            Err(AppError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let mut ids: Vec<String> = case_companies::table
            .filter(case_companies::case_id.eq(case_id))
            .select(case_companies::actor_id)
            .load(conn)?;
        for id in ids.iter_mut() {
            if id == from {
                *id = into.to_string();
            }
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        set_companies(conn, case_id, &ids)?;
        if let Some(before) = before {
            let after = load(conn, case_id)?;
            audit::record(
                conn,
                who,
                Action::Update,
                ENTITY,
                case_id,
                Some(&before),
                Some(&after),
            )?;
        }
    }
    Ok(case_ids.len())
}
