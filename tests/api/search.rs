//! Issue 11: every list filter reaches its rows through an index, text
//! search and boxes through the search structures of each backend, and the
//! list can say how many incidents match.

use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde_json::json;

use vigia::db::DbConn;
use vigia::events::store::{explain_list, ConcessionKey, EventFilter};
use vigia::events::{EventType, Verification};

use crate::helpers::{event_with, los_chancas, spawn_app, TestApp};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// SQLite's FTS5 and R*Tree tables hold exactly the incidents' text and
/// points (PostgreSQL's are indexes, kept by the database itself).
pub fn derived_tables_agree(conn: &mut DbConn) {
    if let DbConn::Sqlite(c) = conn {
        // Checks the index against the external content, row by row.
        c.batch_execute("INSERT INTO events_fts (events_fts, rank) VALUES ('integrity-check', 1)")
            .unwrap();
        let count = |c: &mut diesel::SqliteConnection, sql: &str| {
            diesel::sql_query(sql).get_result::<N>(c).unwrap().n
        };
        assert_eq!(
            count(c, "SELECT count(*) AS n FROM events_rtree"),
            count(c, "SELECT count(*) AS n FROM events")
        );
        assert_eq!(
            count(
                c,
                "SELECT count(*) AS n FROM events e JOIN events_rtree r ON r.id = e.rowid \
                 WHERE r.min_lon <= e.lon AND r.max_lon >= e.lon AND r.min_lat <= e.lat AND r.max_lat >= e.lat"
            ),
            count(c, "SELECT count(*) AS n FROM events")
        );
    }
}

async fn titles(app: &TestApp, query: &str) -> Vec<String> {
    let res = app
        .get(&format!("/api/v1/events{query}"), &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{query}: {}", res.body);
    res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_string())
        .collect()
}

fn filter(change: impl FnOnce(&mut EventFilter)) -> EventFilter {
    let mut f = EventFilter {
        limit: 50,
        ..EventFilter::default()
    };
    change(&mut f);
    f
}

/// Every filter a user can send, alone and in the combinations that found
/// few rows in the issue, each with the plan it must not fall back from.
fn listed_filters() -> Vec<(&'static str, EventFilter)> {
    let id = "0b6f1d8e-3c55-4f3e-9a53-2f1f0c1e2d3a".to_string();
    vec![
        (
            "from",
            filter(|f| f.from = chrono::NaiveDate::from_ymd_opt(2022, 1, 1)),
        ),
        (
            "to",
            filter(|f| f.to = chrono::NaiveDate::from_ymd_opt(2022, 1, 1)),
        ),
        (
            "event_type",
            filter(|f| f.event_types = vec![EventType::Eviction]),
        ),
        (
            "two event types",
            filter(|f| f.event_types = vec![EventType::Eviction, EventType::Riot]),
        ),
        (
            "verification",
            filter(|f| f.verification = Some(Verification::Verified)),
        ),
        (
            "event_type + verification",
            filter(|f| {
                f.event_types = vec![EventType::Eviction];
                f.verification = Some(Verification::Verified);
            }),
        ),
        ("region", filter(|f| f.region = Some("Apurímac".into()))),
        ("province", filter(|f| f.province = Some("Aymaraes".into()))),
        (
            "district",
            filter(|f| f.district = Some("Pocohuanca".into())),
        ),
        ("ubigeo 2", filter(|f| f.ubigeo_prefix = Some("03".into()))),
        ("ubigeo 3", filter(|f| f.ubigeo_prefix = Some("030".into()))),
        (
            "ubigeo 4",
            filter(|f| f.ubigeo_prefix = Some("0304".into())),
        ),
        (
            "ubigeo 6",
            filter(|f| f.ubigeo_prefix = Some("030410".into())),
        ),
        ("ubigeo none", filter(|f| f.without_ubigeo = true)),
        (
            "bbox",
            filter(|f| f.bbox = Some([-73.2, -14.3, -73.0, -14.1])),
        ),
        ("q", filter(|f| f.words = vec!["zzzznotthere".into()])),
        (
            "q, three words",
            filter(|f| f.words = vec!["campamento".into(), "mineros".into(), "policia".into()]),
        ),
        ("actor", filter(|f| f.actor = Some(id.clone()))),
        (
            "concession id",
            filter(|f| f.concession = Some(ConcessionKey::Id(id.clone()))),
        ),
        (
            "concession code",
            filter(|f| f.concession = Some(ConcessionKey::Code("010203404".into()))),
        ),
        ("case", filter(|f| f.case = Some(id.clone()))),
        (
            "q + region + from",
            filter(|f| {
                f.words = vec!["tapairihua".into()];
                f.region = Some("apurimac".into());
                f.from = chrono::NaiveDate::from_ymd_opt(2022, 1, 1);
            }),
        ),
        (
            "bbox + event_type",
            filter(|f| {
                f.bbox = Some([-73.2, -14.3, -73.0, -14.1]);
                f.event_types = vec![EventType::Blockade];
            }),
        ),
        (
            "ubigeo + event_type, second page",
            filter(|f| {
                f.ubigeo_prefix = Some("0304".into());
                f.event_types = vec![EventType::Eviction];
                f.after = Some((
                    chrono::NaiveDate::from_ymd_opt(2022, 5, 1).unwrap(),
                    id.clone(),
                ));
            }),
        ),
    ]
}

#[actix_web::test]
async fn every_listed_filter_reads_events_through_an_index() {
    let app = spawn_app().await;
    app.create_event(los_chancas()).await;
    app.create_event(event_with(
        json!({"title": "Desalojo en la concesión", "event_type": "eviction"}),
    ))
    .await;
    let mut conn = app.db.get().unwrap();
    for (name, f) in listed_filters() {
        let plan = match &mut *conn {
            DbConn::Sqlite(_) => explain_list(&mut conn, &f).unwrap(),
            DbConn::Pg(_) => {
                // On a small table PostgreSQL rightly prefers reading it
                // whole; with sequential scans priced out, what remains must
                // be an index.
                conn.transaction::<_, diesel::result::Error, _>(|c| {
                    c.batch_execute("SET LOCAL enable_seqscan = off")?;
                    Ok(explain_list(c, &f).unwrap())
                })
                .unwrap()
            }
        };
        let text = plan.join("\n");
        let scans_events = plan.iter().any(|line| {
            let line = line.trim_start_matches(|c: char| " |-`>".contains(c));
            line == "SCAN events"
                || line.starts_with("SCAN events ")
                || line.contains("Seq Scan on events ")
        });
        assert!(!scans_events, "{name} scans events:\n{text}");
    }
    // With no filter the first page walks the date order's index.
    let all = explain_list(&mut conn, &filter(|_| {})).unwrap().join("\n");
    assert!(
        all.contains("events_live_order") || matches!(*conn, DbConn::Pg(_)),
        "{all}"
    );
}

/// A page deep in the list (every export chunk is one) starts reading the
/// date order's index at its cursor, not at the newest incident: the
/// cursor's date bounds the index scan. Without it PostgreSQL filtered
/// 736,000 index entries to reach a page at 1,000,000 incidents (356 ms).
#[actix_web::test]
async fn a_page_after_a_cursor_starts_the_index_scan_at_the_cursor() {
    let app = spawn_app().await;
    app.create_event(los_chancas()).await;
    let mut conn = app.db.get().unwrap();
    let f = filter(|f| {
        f.after = Some((
            chrono::NaiveDate::from_ymd_opt(2010, 6, 1).unwrap(),
            "0b6f1d8e-3c55-4f3e-9a53-2f1f0c1e2d3a".into(),
        ))
    });
    let plan = match &mut *conn {
        DbConn::Sqlite(_) => explain_list(&mut conn, &f).unwrap(),
        DbConn::Pg(_) => conn
            .transaction::<_, diesel::result::Error, _>(|c| {
                c.batch_execute("SET LOCAL enable_seqscan = off")?;
                Ok(explain_list(c, &f).unwrap())
            })
            .unwrap(),
    }
    .join("\n");
    let bounded = match *conn {
        // `SEARCH events USING INDEX events_live_order (occurred_on<?)`
        DbConn::Sqlite(_) => plan.contains("events_live_order (occurred_on<"),
        DbConn::Pg(_) => plan.contains("Index Cond: (occurred_on <="),
    };
    assert!(bounded, "the cursor does not bound the index scan:\n{plan}");
}

/// `rows` incidents straight into the table (the triggers index them), in
/// which every listed filter but the dates matches at most 1 %: types and
/// verification states rare but eviction and riot, places and words that
/// none of the filters names, points over Peru.
fn bulk_rows(conn: &mut DbConn, rows: i64) {
    let columns = "id, version, created_at, updated_at, created_by, title, description, \
        event_type, occurred_on, time_precision, lat, lon, location_precision, place, ubigeo, \
        region, province, district, admin_source, region_key, province_key, district_key, \
        fatalities, injuries, sources, verification, search_text";
    let values = |id: &str, date: &str| {
        format!(
            "{id}, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'seed', \
             'Marcha ' || g, 'Marcha de comuneros', \
             CASE WHEN g % 200 = 0 THEN 'eviction' WHEN g % 200 = 1 THEN 'riot' \
                  WHEN g % 2 = 0 THEN 'protest' ELSE 'blockade' END, \
             {date}, 'day', -18.0 + (g % 997) * 0.018, -81.0 + (g % 991) * 0.0125, 'exact', \
             'Lugar ' || (g % 50), '99' || substr('0000' || (g % 1000), -4, 4), \
             'Region ' || (g % 20), 'Provincia ' || (g % 50), 'Distrito ' || (g % 1000), 'client', \
             'region ' || (g % 20), 'provincia ' || (g % 50), 'distrito ' || (g % 1000), \
             0, 0, '[]', CASE WHEN g % 100 = 7 THEN 'verified' WHEN g % 100 = 8 THEN 'disputed' \
             ELSE 'unverified' END, 'marcha ' || g || ' de comuneros lugar ' || (g % 50)"
        )
    };
    let sql = match conn {
        DbConn::Sqlite(_) => format!(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) \
             INSERT INTO events ({columns}) SELECT {} FROM s",
            values(
                "lower(hex(randomblob(16)))",
                "date('2000-01-01', '+' || (g % 8000) || ' days')"
            )
        ),
        DbConn::Pg(_) => format!(
            "INSERT INTO events ({columns}) SELECT {} FROM generate_series(1, {rows}) g",
            values("gen_random_uuid()::text", "DATE '2000-01-01' + (g % 8000)")
        ),
    };
    conn.batch_execute(&sql).unwrap();
    conn.batch_execute("ANALYZE").unwrap();
}

/// With statistics of 20,000 rows, as a database that has run a while has,
/// each filter that matches few rows is read through its own index, not
/// along the date order filtering every row: PostgreSQL with its planner
/// free (no setting changed), SQLite after ANALYZE.
#[actix_web::test]
async fn with_statistics_few_hits_are_read_through_their_own_index() {
    let app = spawn_app().await;
    let mut conn = app.db.get().unwrap();
    bulk_rows(&mut conn, 20_000);
    derived_tables_agree(&mut conn);
    for (name, f) in listed_filters() {
        if name == "from" || name == "to" {
            continue;
        }
        let plan = explain_list(&mut conn, &f).unwrap().join("\n");
        assert!(
            !plan.contains("Seq Scan on events ")
                && !plan.contains("SCAN events USING INDEX events_live_order")
                && !plan.contains("SCAN events\n")
                && !plan.ends_with("SCAN events")
                && !plan.contains("Index Scan using events_live_order")
                && !plan.contains("Index Scan Backward using events_live_order"),
            "{name} walks or scans all of events:\n{plan}"
        );
    }
}

/// A word in every row, or a box around every point, walks the date order
/// and stops at the page: it neither gathers the hits through the text or
/// spatial index nor sorts them. On PostgreSQL the planner misjudged such
/// conditions and gathered 1,000,000 hits to sort (1.5 s for a box of
/// Peru); the list now keeps it to plain index scans there.
#[actix_web::test]
async fn with_statistics_many_hits_walk_the_date_order() {
    let app = spawn_app().await;
    let mut conn = app.db.get().unwrap();
    bulk_rows(&mut conn, 20_000);
    let many = [
        (
            "q in every row",
            filter(|f| f.words = vec!["comuneros".into()]),
        ),
        (
            "two words in every row",
            filter(|f| f.words = vec!["marcha".into(), "comuner".into()]),
        ),
        (
            "bbox around every point",
            filter(|f| f.bbox = Some([-82.0, -19.0, -68.0, 0.0])),
        ),
        (
            "bbox and q, second page",
            filter(|f| {
                f.bbox = Some([-82.0, -19.0, -68.0, 0.0]);
                f.words = vec!["comuneros".into()];
                f.after = Some((
                    chrono::NaiveDate::from_ymd_opt(2010, 6, 1).unwrap(),
                    "0b6f1d8e-3c55-4f3e-9a53-2f1f0c1e2d3a".into(),
                ));
            }),
        ),
    ];
    for (name, f) in many {
        let lines = explain_list(&mut conn, &f).unwrap();
        let plan = lines.join("\n");
        // An index in date order: the list's own, or (PostgreSQL, as it
        // likes) the figures' (`occurred_on` first), its ties on the date
        // put in order by an incremental sort that stops with the page.
        let in_date_order =
            plan.contains("events_live_order") || plan.contains("events_live_figures");
        let sorts_all = lines.iter().any(|line| {
            line.trim_start_matches(|c: char| " ->".contains(c))
                .starts_with("Sort  (")
        });
        assert!(
            in_date_order
                && !sorts_all
                && !plan.contains("TEMP B-TREE")
                && !plan.contains("Bitmap")
                && !plan.contains("events_rtree")
                && !plan.contains("events_fts"),
            "{name} does not walk the date order:\n{plan}"
        );
        // And the page is what the conditions select.
        let page = vigia::events::store::list(&mut conn, &f).unwrap();
        assert_eq!(page.len() as i64, f.limit + 1, "{name}");
    }
}

#[actix_web::test]
async fn q_matches_word_beginnings_and_takes_operators_as_words() {
    let app = spawn_app().await;
    app.create_event(event_with(
        json!({"title": "Marcha en Apurímac por el agua"}),
    ))
    .await;
    app.create_event(los_chancas()).await;
    assert_eq!(
        titles(&app, "?q=apurim").await,
        ["Marcha en Apurímac por el agua"]
    );
    assert_eq!(
        titles(&app, "?q=APUR%20marc").await.len(),
        1,
        "every word, any order"
    );
    assert_eq!(
        titles(&app, "?q=apurim%20fuego").await.len(),
        0,
        "every word must match"
    );
    assert_eq!(
        titles(&app, "?q=rimac").await.len(),
        0,
        "words match from their start"
    );
    assert_eq!(titles(&app, "?q=campa%C3%B1a%20tapair").await.len(), 0);
    assert_eq!(titles(&app, "?q=campam%20tapair").await.len(), 1);
    for hostile in [
        "%22",
        "%22apurimac",
        "apurimac%22%20OR%20%22agua",
        "NEAR(apurimac%20agua)",
        "apurimac%20NOT%20agua",
        "a*",
        "*",
        "(apurimac",
        "agua)",
        "-apurimac",
        "%5E%5Eagua",
        "apurimac:*",
        "%27%20%7C%20%27a",
        "%5C",
        "apurimac%20%26%20!agua",
        "AND",
        "OR%20OR",
    ] {
        let res = app
            .get(&format!("/api/v1/events?q={hostile}"), &app.researcher)
            .await;
        assert_eq!(res.status, 200, "q={hostile}: {}", res.body);
    }
    assert_eq!(
        titles(&app, "?q=%22apurimac%22%20OR%20%22zzz%22")
            .await
            .len(),
        0,
        "OR is a word"
    );
    assert_eq!(
        titles(&app, "?q=(apurim*").await.len(),
        1,
        "punctuation is not syntax"
    );
}

/// On PostgreSQL a typed word is looked up as the exact words of the index
/// it begins, up to 64 of them (GIN combines exact words fastest); one that
/// begins more is matched as a prefix, as SQLite matches every word, and
/// one that begins none finds nothing without asking the index. Either way
/// it finds the same incidents.
#[actix_web::test]
async fn a_word_that_begins_many_words_still_finds_them_all() {
    let app = spawn_app().await;
    let many: Vec<String> = (0..70).map(|n| format!("ola{n:02}x")).collect();
    app.create_event(event_with(json!({
        "title": "Oleaje de palabras",
        "description": many.join(" "),
    })))
    .await;
    app.create_event(event_with(json!({"title": "Olas altas en la costa"})))
        .await;
    assert_eq!(titles(&app, "?q=ola").await.len(), 2, "70 words: a prefix");
    assert_eq!(titles(&app, "?q=ola0").await, ["Oleaje de palabras"]);
    assert_eq!(titles(&app, "?q=ola69x").await, ["Oleaje de palabras"]);
    assert_eq!(
        titles(&app, "?q=ola%20altas").await,
        ["Olas altas en la costa"]
    );
    assert_eq!(titles(&app, "?q=ola07%20costa").await.len(), 0);
    assert_eq!(titles(&app, "?q=olz").await.len(), 0, "begins no word");
    assert_eq!(
        titles(&app, "?q=ola%20olz").await.len(),
        0,
        "one word nowhere"
    );
    let res = app
        .get("/api/v1/events?q=olz&count=true", &app.researcher)
        .await;
    assert_eq!(res.body["total"], 0, "{}", res.body);
    let res = app
        .get("/api/v1/events?q=ola0&count=true", &app.researcher)
        .await;
    assert_eq!(res.body["total"], 1, "{}", res.body);
}

#[actix_web::test]
async fn search_follows_edits_deletes_and_restores() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
    assert_eq!(titles(&app, "?q=queman").await.len(), 1);
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"title": "Incendian el campamento", "location": {"lat": -9.53, "lon": -77.53}}),
            Some(&format!("\"{}\"", event["version"])),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(titles(&app, "?q=queman").await.len(), 0);
    assert_eq!(titles(&app, "?q=incendian").await.len(), 1);
    assert_eq!(titles(&app, "?bbox=-73.2,-14.3,-73.0,-14.1").await.len(), 0);
    assert_eq!(titles(&app, "?bbox=-78,-10,-77,-9").await.len(), 1);
    let res = app.delete(&path, &app.monitor, Some("\"2\"")).await;
    assert_eq!(res.status, 204, "{}", res.body);
    assert_eq!(titles(&app, "?q=incendian").await.len(), 0);
    assert_eq!(titles(&app, "?bbox=-78,-10,-77,-9").await.len(), 0);
    let mut conn = app.db.get().unwrap();
    derived_tables_agree(&mut conn);
}

#[actix_web::test]
async fn count_true_adds_the_total_of_every_page() {
    let app = spawn_app().await;
    for day in 1..=7 {
        app.create_event(event_with(json!({
            "occurred_on": format!("2023-03-{day:02}"),
            "event_type": if day % 2 == 0 { "eviction" } else { "blockade" }
        })))
        .await;
    }
    let page = app
        .get(
            "/api/v1/events?count=true&limit=2&event_type=blockade",
            &app.researcher,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["total"], 4);
    assert_eq!(page.body["total_is_estimate"], false);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/api/v1/events?count=true&limit=2&event_type=blockade&cursor={cursor}"),
            &app.researcher,
        )
        .await;
    assert_eq!(
        next.body["total"], 4,
        "the total of the filter, not of what is left"
    );
    let plain = app.get("/api/v1/events", &app.researcher).await;
    assert!(plain.body.get("total").is_none(), "{}", plain.body);
    let none = app
        .get("/api/v1/events?count=true&q=zzzznotthere", &app.researcher)
        .await;
    assert_eq!(none.body["total"], 0);
    let doc = app.get("/api/v1/openapi.json", &app.researcher).await;
    let schema = &doc.body["components"]["schemas"]["EventPage"]["properties"];
    assert!(
        schema.get("total").is_some() && schema.get("total_is_estimate").is_some(),
        "{schema}"
    );
}

/// Words (or a box) in a quarter of the incidents: many, so the list walks
/// the date order, but counting 10,001 of them that way would read 40,000
/// rows; the count reads them through the text (spatial) index instead. It
/// is exact up to 10,000, deleted incidents left out though the text index
/// holds them (SQLite's FTS5 table), and estimated above.
#[actix_web::test]
async fn count_of_words_in_a_quarter_of_incidents_is_exact_then_estimated() {
    let app = spawn_app().await;
    let mut conn = app.db.get().unwrap();
    let number = "CAST(substr(title, 8) AS INTEGER)";
    bulk_rows(&mut conn, 30_000);
    conn.batch_execute(&format!(
        "UPDATE events SET search_text = search_text || ' derrame relaves' WHERE {number} % 4 = 3; \
         UPDATE events SET deleted_at = created_at WHERE {number} % 8 = 3; ANALYZE"
    ))
    .unwrap();
    derived_tables_agree(&mut conn);
    let words = "/api/v1/events?count=true&q=derrame%20relav";
    let res = app.get(words, &app.researcher).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["total"], 3_750, "{}", res.body["total"]);
    assert_eq!(res.body["total_is_estimate"], false);
    assert_eq!(res.body["items"].as_array().unwrap().len(), 50);
    // With another filter: blockades are the odd numbers, so all of them.
    let res = app
        .get(&format!("{words}&event_type=protest"), &app.researcher)
        .await;
    assert_eq!(res.body["total"], 0, "{}", res.body["total"]);
    let res = app
        .get(&format!("{words}&event_type=blockade"), &app.researcher)
        .await;
    assert_eq!(res.body["total"], 3_750, "{}", res.body["total"]);
    // A box around a quarter of the points: counted through the spatial
    // index the same way.
    let inside: N = diesel::sql_query(
        "SELECT count(*) AS n FROM events WHERE deleted_at IS NULL \
         AND lon BETWEEN -81.5 AND -77.9 AND lat BETWEEN -19 AND 0",
    )
    .get_result(&mut *conn)
    .unwrap();
    assert!((5_000..10_000).contains(&inside.n), "{}", inside.n);
    let res = app
        .get(
            "/api/v1/events?count=true&bbox=-81.5,-19,-77.9,0",
            &app.researcher,
        )
        .await;
    assert_eq!(res.body["total"], inside.n, "{}", res.body["total"]);
    assert_eq!(res.body["total_is_estimate"], false);

    // 60,000 more: 15,000 more hits, 7,500 of them live.
    conn.batch_execute(&format!(
        "UPDATE events SET title = 'Marcha ' || ({number} + 60000)"
    ))
    .unwrap();
    bulk_rows(&mut conn, 60_000);
    conn.batch_execute(&format!(
        "UPDATE events SET search_text = search_text || ' derrame relaves' \
         WHERE {number} <= 60000 AND {number} % 4 = 3; \
         UPDATE events SET deleted_at = created_at WHERE {number} <= 60000 AND {number} % 8 = 3; \
         ANALYZE"
    ))
    .unwrap();
    derived_tables_agree(&mut conn);
    let res = app.get(words, &app.researcher).await;
    assert_eq!(res.body["total_is_estimate"], true, "{}", res.body);
    let total = res.body["total"].as_i64().unwrap();
    assert!(
        (10_001..=13_000).contains(&total),
        "11,250 live incidents have the words; estimated {total}"
    );
    // Within dates the live incidents there are counted, not taken from
    // statistics: every row is from 2000 on, so the same total.
    let res = app
        .get(&format!("{words}&from=2000-01-01"), &app.researcher)
        .await;
    assert_eq!(res.body["total_is_estimate"], true, "{}", res.body);
    let dated = res.body["total"].as_i64().unwrap();
    assert!(
        (10_001..=13_000).contains(&dated),
        "11,250 live incidents have the words; estimated {dated}"
    );
    // Without dates the live incidents are not counted (SQLite: the highest
    // rowid less the 7,500 deleted; PostgreSQL: its statistics), but they
    // are the same ones: the same sample's share makes the same total, to
    // within PostgreSQL's sampled row count.
    assert!(
        (total - dated).abs() <= dated / 50,
        "without dates {total}, from 2000 on {dated}"
    );
}
