//! Incidents as a national record holds them, for the benchmarks that need
//! many (`web`, `scale`): placed inside Peru's real districts when the
//! district layer is present (more in the mining regions, each district
//! with its own intensity), with a mix of types, dates over 20 years, date
//! precisions and verification states, titles and descriptions in Spanish.

use chrono::NaiveDate;
use geo::{BoundingRect, Contains, MultiPolygon, Point};
use rand::Rng;

use vigia::events::{
    Admin, EventFields, EventType, Location, LocationPrecision, Source, TimePrecision, Verification,
};
use vigia::places::store::DistrictDraft;

pub const DISTRICTS: &str = "../shared/data/peru-districts.geojson";

/// Peru as the incidents map fits it (`PERU` in static/js/map.js).
pub const PERU: [f64; 4] = [-81.4, -18.4, -68.6, -0.03];

/// Regions where most mining conflicts are recorded (Defensoría's monthly
/// reports): their districts weigh more.
const MINING_REGIONS: [&str; 12] = [
    "APURIMAC",
    "CUSCO",
    "CAJAMARCA",
    "ANCASH",
    "PUNO",
    "AREQUIPA",
    "MOQUEGUA",
    "JUNIN",
    "PASCO",
    "LA LIBERTAD",
    "AYACUCHO",
    "HUANCAVELICA",
];

/// Incident types with weights: protests and blockades most, then the rest.
pub const TYPES: [(EventType, u32, &str); 12] = [
    (
        EventType::Protest,
        30,
        "Marcha de comuneros contra el proyecto minero",
    ),
    (
        EventType::Blockade,
        20,
        "Bloqueo de vía por comuneros frente al campamento minero",
    ),
    (
        EventType::Agreement,
        9,
        "Acta de acuerdos en la mesa de diálogo",
    ),
    (
        EventType::Clash,
        8,
        "Enfrentamiento entre comuneros y la policía",
    ),
    (
        EventType::EnvironmentalIncident,
        8,
        "Derrame de relaves en el río",
    ),
    (
        EventType::Occupation,
        5,
        "Comuneros ingresan a la concesión",
    ),
    (
        EventType::PropertyDestruction,
        4,
        "Incendio del campamento minero",
    ),
    (EventType::Eviction, 4, "Interdicción de la minería ilegal"),
    (EventType::Arrest, 4, "Detención de dirigentes comunales"),
    (EventType::Riot, 3, "Disturbios en la plaza de armas"),
    (EventType::Attack, 3, "Ataque a trabajadores de la mina"),
    (EventType::Other, 2, "Otro hecho en torno a la mina"),
];

/// Where incidents go: districts with a weight each (cumulative), or Peru's box.
pub struct Places {
    districts: Vec<(DistrictDraft, [f64; 4])>,
    cumulative: Vec<f64>,
}

impl Places {
    pub fn new(drafts: Vec<DistrictDraft>, rng: &mut impl Rng) -> Self {
        let mut districts = Vec::new();
        let mut cumulative = Vec::new();
        let mut sum = 0.0;
        for d in drafts {
            let Some(rect) = d.outline.shape.bounding_rect() else {
                continue;
            };
            // Each district its own intensity (a heavy tail: a few districts
            // hold many incidents, as Challhuahuacho or Espinar do).
            let intensity = 1.0 / rng.random_range(0.02f64..1.0);
            let region = if MINING_REGIONS.contains(&d.region.as_str()) {
                4.0
            } else {
                1.0
            };
            sum += intensity * region;
            cumulative.push(sum);
            let (min, max) = (rect.min(), rect.max());
            districts.push((d, [min.x, min.y, max.x, max.y]));
        }
        Places {
            districts,
            cumulative,
        }
    }

    /// A point and its district, or a point in Peru's box and none.
    pub fn pick(&self, rng: &mut impl Rng) -> ((f64, f64), Option<&DistrictDraft>) {
        if self.districts.is_empty() {
            let lon = rng.random_range(PERU[0]..PERU[2]);
            let lat = rng.random_range(PERU[1]..PERU[3]);
            return ((lon, lat), None);
        }
        let total = *self.cumulative.last().unwrap();
        let at = rng.random_range(0.0..total);
        let i = self.cumulative.partition_point(|c| *c <= at);
        let (draft, [x0, y0, x1, y1]) = &self.districts[i.min(self.districts.len() - 1)];
        let shape: &MultiPolygon<f64> = &draft.outline.shape;
        for _ in 0..200 {
            let p = (rng.random_range(*x0..=*x1), rng.random_range(*y0..=*y1));
            if shape.contains(&Point::new(p.0, p.1)) {
                return (p, Some(draft));
            }
        }
        (((x0 + x1) / 2.0, (y0 + y1) / 2.0), Some(draft))
    }
}

pub fn weighted<T: Copy>(rng: &mut impl Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut at = rng.random_range(0..total);
    for (item, w) in items {
        if at < *w {
            return *item;
        }
        at -= w;
    }
    items[0].0
}

pub fn fields(places: &Places, rng: &mut impl Rng) -> EventFields {
    let day =
        NaiveDate::from_ymd_opt(2005, 1, 1).unwrap() + chrono::Days::new(rng.random_range(0..7500));
    let type_weights: Vec<(usize, u32)> = TYPES.iter().enumerate().map(|(i, t)| (i, t.1)).collect();
    let (event_type, _, title) = TYPES[weighted(rng, &type_weights)];
    let ((lon, lat), district) = places.pick(rng);
    let time_precision = weighted(
        rng,
        &[
            (TimePrecision::Day, 80),
            (TimePrecision::Month, 15),
            (TimePrecision::Year, 5),
        ],
    );
    EventFields {
        title: title.into(),
        description: format!("{title}: comuneros y autoridades; la Defensoría registra el caso."),
        event_type,
        sub_event_type: None,
        occurred_on: day,
        time_precision,
        location: Location {
            lat,
            lon,
            precision: weighted(
                rng,
                &[
                    (LocationPrecision::Exact, 30),
                    (LocationPrecision::Near, 50),
                    (LocationPrecision::Approximate, 20),
                ],
            ),
            place: district.map(|d| format!("{}, {}", d.name, d.province)),
        },
        admin: district.map(|d| Admin {
            ubigeo: Some(d.ubigeo.clone()),
            region: Some(d.region.clone()),
            province: Some(d.province.clone()),
            district: Some(d.name.clone()),
        }),
        fatalities: i32::from(rng.random_range(0..100) == 0),
        injuries: rng.random_range(0..3),
        sources: vec![Source {
            publisher: "Defensoría del Pueblo".into(),
            title: Some("Reporte de Conflictos Sociales".into()),
            url: None,
            published_on: None,
            confidential: false,
        }],
        verification: weighted(
            rng,
            &[
                (Verification::Unverified, 60),
                (Verification::Verified, 35),
                (Verification::Disputed, 5),
            ],
        ),
        verification_note: None,
    }
}
