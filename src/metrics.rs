//! `/metrics` in the Prometheus text format (the `prometheus` crate writes
//! it). Counters and histograms live for the process; the gauges of the
//! database (pool, outbox, backups) are read when scraped.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::db::Db;
use crate::error::AppError;

struct Process {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    deliveries: IntCounterVec,
    index_rebuilds: IntCounterVec,
}

static PROCESS: LazyLock<Process> = LazyLock::new(|| {
    let registry = Registry::new();
    let requests = IntCounterVec::new(
        Opts::new(
            "vigia_http_requests_total",
            "HTTP requests answered, by method, route template and status",
        ),
        &["method", "route", "status"],
    )
    .unwrap_or_else(unreachable_metric);
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "vigia_http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route template",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]),
        &["method", "route"],
    )
    .unwrap_or_else(unreachable_metric);
    let deliveries = IntCounterVec::new(
        Opts::new(
            "vigia_deliveries_total",
            "Outbox mails handled by this process's delivery worker, by result (sent, retried, failed, cancelled)",
        ),
        &["result"],
    )
    .unwrap_or_else(unreachable_metric);
    let index_rebuilds = IntCounterVec::new(
        Opts::new(
            "vigia_index_rebuilds_total",
            "Rebuilds of the in-memory place index, by layer",
        ),
        &["layer"],
    )
    .unwrap_or_else(unreachable_metric);
    // Every series a monitor alerts on exists from the start, at 0.
    for result in ["sent", "retried", "failed", "cancelled"] {
        deliveries.with_label_values(&[result]);
    }
    for layer in ["concessions", "districts"] {
        index_rebuilds.with_label_values(&[layer]);
    }
    for collector in [
        Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(latency.clone()),
        Box::new(deliveries.clone()),
        Box::new(index_rebuilds.clone()),
    ] {
        let _ = registry.register(collector);
    }
    Process {
        registry,
        requests,
        latency,
        deliveries,
        index_rebuilds,
    }
});

/// The metric definitions above are fixed and valid; this is never reached.
fn unreachable_metric<T>(e: prometheus::Error) -> T {
    panic!("invalid metric definition: {e}")
}

/// One answered request. `route` is the template (`/api/v1/events/{id}`),
/// never the path, so ids do not make new series. It is labelled in the
/// `:id` form (`/api/v1/events/:id`): braces inside label values are valid
/// in the text format but trip simple parsers and PromQL regexes.
pub fn observe_request(method: &str, route: &str, status: u16, seconds: f64) {
    let route = route.replace('{', ":").replace('}', "");
    let route = route.as_str();
    let p = &*PROCESS;
    p.requests
        .with_label_values(&[method, route, &status.to_string()])
        .inc();
    p.latency
        .with_label_values(&[method, route])
        .observe(seconds);
}

pub fn count_deliveries(sent: usize, retried: usize, failed: usize, cancelled: usize) {
    let p = &*PROCESS;
    for (result, n) in [
        ("sent", sent),
        ("retried", retried),
        ("failed", failed),
        ("cancelled", cancelled),
    ] {
        p.deliveries.with_label_values(&[result]).inc_by(n as u64);
    }
}

pub fn count_index_rebuild(layer: &str) {
    PROCESS.index_rebuilds.with_label_values(&[layer]).inc();
}

fn gauge(registry: &Registry, name: &str, help: &str, value: i64) -> Result<(), AppError> {
    let g = IntGauge::new(name, help).map_err(internal)?;
    g.set(value);
    registry.register(Box::new(g)).map_err(internal)
}

fn internal(e: prometheus::Error) -> AppError {
    AppError::internal(format!("metrics: {e}"))
}

/// Everything, as the Prometheus text format. Reads the database.
pub fn render(db: &Db) -> Result<String, AppError> {
    let scrape = Registry::new();
    let state = db.pool_state();
    let pool = IntGaugeVec::new(
        Opts::new(
            "vigia_db_pool_connections",
            "Database pool connections, by state (in_use, idle)",
        ),
        &["state"],
    )
    .map_err(internal)?;
    pool.with_label_values(&["idle"])
        .set(i64::from(state.idle_connections));
    pool.with_label_values(&["in_use"])
        .set(i64::from(state.connections - state.idle_connections));
    scrape.register(Box::new(pool)).map_err(internal)?;

    let mut conn = db.get()?;
    let now = crate::db::now();
    let outbox = crate::alerts::store::outbox_stats(&mut conn, now)?;
    let depth = IntGaugeVec::new(
        Opts::new(
            "vigia_outbox_mails",
            "Outbox rows (alerts and confirmations), by kind and status",
        ),
        &["kind", "status"],
    )
    .map_err(internal)?;
    for kind in ["alert", "confirmation"] {
        for status in ["pending", "sent", "failed", "cancelled"] {
            depth.with_label_values(&[kind, status]).set(0);
        }
    }
    for (kind, status, n) in &outbox.counts {
        depth.with_label_values(&[kind, status]).set(*n);
    }
    scrape.register(Box::new(depth)).map_err(internal)?;
    let age =
        |t: Option<chrono::NaiveDateTime>| t.map(|t| (now - t).num_seconds().max(0)).unwrap_or(0);
    gauge(
        &scrape,
        "vigia_outbox_oldest_pending_alert_age_seconds",
        "Age of the oldest alert not yet sent (0 when none is pending)",
        age(outbox.oldest_pending_alert),
    )?;
    gauge(
        &scrape,
        "vigia_outbox_oldest_due_seconds",
        "How long the oldest due mail has waited past its due time (0 when none is due)",
        age(outbox.oldest_due),
    )?;

    let (success, last) = crate::maintenance::last_backups(&mut conn)?;
    drop(conn);
    gauge(
        &scrape,
        "vigia_backup_last_success_timestamp_seconds",
        "When the last successful backup finished, Unix time (0: never)",
        success
            .map(|r| r.finished_at.and_utc().timestamp())
            .unwrap_or(0),
    )?;
    gauge(
        &scrape,
        "vigia_backup_last_failed",
        "1 when the most recent backup failed",
        i64::from(last.is_some_and(|r| !r.ok)),
    )?;

    let mut families = PROCESS.registry.gather();
    families.extend(scrape.gather());
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&families, &mut out)
        .map_err(internal)?;
    String::from_utf8(out).map_err(|e| AppError::internal(format!("metrics: {e}")))
}
