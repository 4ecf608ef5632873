//! Figures: incidents counted by month, year, type, region, province,
//! holder or verification (one key, or two for a table), with their
//! fatalities and injuries. The grouping itself is SQL
//! (`store::stats`); this holds the keys, the answer's shape and its CSV.

use serde::Serialize;
use utoipa::ToSchema;

use super::{EventType, Verification};
use crate::error::{AppError, FieldError};

string_enum! {
    /// What incidents are counted by.
    pub enum GroupKey {
        /// `YYYY-MM` of `occurred_on`.
        Month = "month",
        /// `YYYY` of `occurred_on`.
        Year = "year",
        EventType = "event_type",
        /// The first two digits of the ubigeo, with the region's name.
        Region = "region",
        /// The first four digits of the ubigeo, with the province's name.
        Province = "province",
        /// The holder (titular) of a live concession the incident lies in;
        /// an incident in concessions of two holders counts for each, once.
        Holder = "holder",
        Verification = "verification",
    }
}

/// The most keys one request groups by.
pub const MAX_KEYS: usize = 2;

/// The most groups one answer holds: month × holder over decades could be
/// millions; such a request is refused, to be narrowed by the filters.
pub const MAX_GROUPS: usize = 10_000;

/// `group_by` as given (`month` or `month,event_type`): one or two known
/// keys, not repeated; otherwise a 422 naming `group_by`.
pub fn parse_group_by(text: Option<&str>) -> Result<Vec<GroupKey>, AppError> {
    let refuse = |code: &str, message: String| {
        AppError::Validation(vec![FieldError::coded("group_by", code, message)])
    };
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err(refuse(
            "required",
            format!("name one or two of: {}", GroupKey::names()),
        ));
    };
    let mut keys = Vec::new();
    for part in text.split(',').map(str::trim) {
        let Some(key) = GroupKey::parse(part) else {
            return Err(refuse(
                "invalid",
                format!("{part:?} is not one of: {}", GroupKey::names()),
            ));
        };
        if keys.contains(&key) {
            return Err(refuse("invalid", format!("{part} is named twice")));
        }
        keys.push(key);
    }
    if keys.len() > MAX_KEYS {
        return Err(refuse(
            "length",
            format!("at most {MAX_KEYS} keys, {} given", keys.len()),
        ));
    }
    Ok(keys)
}

/// One group as the database counted it: per key its value (`None`: the
/// incidents without one, e.g. no ubigeo, no holder) and, for region,
/// province and holder, its name.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub values: Vec<(GroupKey, Option<String>, Option<String>)>,
    pub counts: Counts,
}

/// How many incidents, and the fatalities and injuries they record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counts {
    pub count: i64,
    pub fatalities: i64,
    pub injuries: i64,
}

/// The counts of every group and of all the incidents the filters select.
#[derive(Debug, Clone)]
pub struct Stats {
    pub group_by: Vec<GroupKey>,
    /// Ordered by the keys in `group_by`'s order, each ascending, the
    /// incidents without a value last.
    pub groups: Vec<GroupRow>,
    /// Every incident once, whatever its groups (an incident of two holders
    /// is in two groups, once here).
    pub total: Counts,
}

/// One group in the JSON answer: the keys grouped by, then the counts.
/// A key not grouped by is absent; `null` is the group of incidents
/// without one.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsGroup {
    /// `YYYY-MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable, example = "2024-03")]
    pub month: Option<Option<String>>,
    /// `YYYY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable, example = "2024")]
    pub year: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<EventType>, nullable)]
    pub event_type: Option<Option<EventType>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Verification>, nullable)]
    pub verification: Option<Option<Verification>>,
    /// The region's ubigeo (2 digits); `null`: incidents without a ubigeo.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable, example = "03")]
    pub region: Option<Option<String>>,
    /// The region's name, from the loaded districts (else as the incidents
    /// give it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable, example = "APURIMAC")]
    pub region_name: Option<Option<String>>,
    /// The province's ubigeo (4 digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable, example = "0304")]
    pub province: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable, example = "AYMARAES")]
    pub province_name: Option<Option<String>>,
    /// The holder's actor id; `null`: in no live concession with a holder.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable, format = Uuid)]
    pub holder: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable)]
    pub holder_name: Option<Option<String>>,
    pub count: i64,
    pub fatalities: i64,
    pub injuries: i64,
}

/// `GET /api/v1/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsAnswer {
    pub group_by: Vec<GroupKey>,
    pub groups: Vec<StatsGroup>,
    /// All the incidents the filters select, each once.
    pub total: Counts,
}

impl GroupRow {
    /// The value of `key` in this group, if grouped by it.
    pub fn value(&self, key: GroupKey) -> Option<&Option<String>> {
        self.values.iter().find(|v| v.0 == key).map(|v| &v.1)
    }

    /// The name of `key`'s value (region, province, holder), if any.
    pub fn name(&self, key: GroupKey) -> Option<&str> {
        self.values
            .iter()
            .find(|v| v.0 == key)
            .and_then(|v| v.2.as_deref())
    }

    fn to_group(&self) -> StatsGroup {
        let mut g = StatsGroup {
            month: None,
            year: None,
            event_type: None,
            verification: None,
            region: None,
            region_name: None,
            province: None,
            province_name: None,
            holder: None,
            holder_name: None,
            count: self.counts.count,
            fatalities: self.counts.fatalities,
            injuries: self.counts.injuries,
        };
        for (key, value, name) in &self.values {
            let value = value.clone();
            match key {
                GroupKey::Month => g.month = Some(value),
                GroupKey::Year => g.year = Some(value),
                GroupKey::EventType => {
                    g.event_type = Some(value.as_deref().and_then(EventType::parse))
                }
                GroupKey::Verification => {
                    g.verification = Some(value.as_deref().and_then(Verification::parse))
                }
                GroupKey::Region => {
                    g.region = Some(value);
                    g.region_name = Some(name.clone());
                }
                GroupKey::Province => {
                    g.province = Some(value);
                    g.province_name = Some(name.clone());
                }
                GroupKey::Holder => {
                    g.holder = Some(value);
                    g.holder_name = Some(name.clone());
                }
            }
        }
        g
    }
}

impl Stats {
    pub fn answer(&self) -> StatsAnswer {
        StatsAnswer {
            group_by: self.group_by.clone(),
            groups: self.groups.iter().map(GroupRow::to_group).collect(),
            total: self.total,
        }
    }

    /// The groups as CSV: per key its column (and `<key>_name` for region,
    /// province and holder), then `count`, `fatalities`, `injuries`; the
    /// last line, `total` in the first column, counts every incident once.
    /// Every cell through `csv_safe`.
    pub fn csv(&self) -> Result<Vec<u8>, AppError> {
        let named =
            |k: &GroupKey| matches!(k, GroupKey::Region | GroupKey::Province | GroupKey::Holder);
        let mut header: Vec<String> = Vec::new();
        for key in &self.group_by {
            header.push(key.as_str().into());
            if named(key) {
                header.push(format!("{}_name", key.as_str()));
            }
        }
        header.extend(["count", "fatalities", "injuries"].map(String::from));
        let mut out = Vec::new();
        {
            let mut writer = csv::Writer::from_writer(&mut out);
            let failed = |e: csv::Error| AppError::internal_from("writing figures as CSV", e);
            writer.write_record(&header).map_err(failed)?;
            let numbers = |c: &Counts| [c.count, c.fatalities, c.injuries].map(|n| n.to_string());
            for group in &self.groups {
                let mut cells: Vec<String> = Vec::new();
                for (key, value, name) in &group.values {
                    cells.push(value.clone().unwrap_or_default());
                    if named(key) {
                        cells.push(name.clone().unwrap_or_default());
                    }
                }
                cells.extend(numbers(&group.counts));
                writer
                    .write_record(
                        cells
                            .iter()
                            .map(|c| crate::csv_safe::csv_cell(c).into_owned()),
                    )
                    .map_err(failed)?;
            }
            let mut total = vec![String::new(); header.len() - 3];
            total[0] = "total".into();
            total.extend(numbers(&self.total));
            writer.write_record(&total).map_err(failed)?;
            writer
                .flush()
                .map_err(|e| AppError::internal_from("writing figures as CSV", e))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_by_takes_one_or_two_known_keys() {
        assert_eq!(
            parse_group_by(Some("month, event_type")).unwrap(),
            [GroupKey::Month, GroupKey::EventType]
        );
        for bad in [
            None,
            Some(""),
            Some("week"),
            Some("month,month"),
            Some("month,year,region"),
        ] {
            match parse_group_by(bad) {
                Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "group_by"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
