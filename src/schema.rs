//! Diesel table definitions, written by hand to match both migration folders.
//! Only portable SQL types appear here (see docs/ARCHITECTURE.md).

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        token_hash -> Text,
        token_prefix -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        user_id -> Nullable<Text>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        title -> Text,
        description -> Text,
        event_type -> Text,
        sub_event_type -> Nullable<Text>,
        occurred_on -> Date,
        time_precision -> Text,
        lat -> Double,
        lon -> Double,
        location_precision -> Text,
        place -> Nullable<Text>,
        ubigeo -> Nullable<Text>,
        region -> Nullable<Text>,
        province -> Nullable<Text>,
        district -> Nullable<Text>,
        admin_source -> Nullable<Text>,
        region_key -> Nullable<Text>,
        province_key -> Nullable<Text>,
        district_key -> Nullable<Text>,
        fatalities -> Integer,
        injuries -> Integer,
        sources -> Text,
        verification -> Text,
        verification_note -> Nullable<Text>,
        search_text -> Text,
        deleted_at -> Nullable<Timestamp>,
        source_id -> Nullable<Text>,
        publication -> Text,
    }
}

diesel::table! {
    event_publications (event_id) {
        event_id -> Text,
        published_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        key_id -> Nullable<Text>,
        key_name -> Text,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
    }
}

diesel::table! {
    actors (id) {
        id -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        name -> Text,
        kind -> Text,
        aliases -> Text,
        ruc -> Nullable<Text>,
        reinfo_code -> Nullable<Text>,
        notes -> Text,
        name_key -> Text,
        search_text -> Text,
        merged_into -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    event_actors (event_id, actor_id, role) {
        event_id -> Text,
        actor_id -> Text,
        role -> Text,
        attribution -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    concessions (id) {
        id -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        code -> Text,
        name -> Text,
        holder_id -> Nullable<Text>,
        hectares -> Nullable<Double>,
        status -> Nullable<Text>,
        substance -> Nullable<Text>,
        filed_on -> Nullable<Date>,
        geometry -> Text,
        geometry_valid -> Bool,
        source_crs -> Text,
        min_lon -> Double,
        min_lat -> Double,
        max_lon -> Double,
        max_lat -> Double,
        attributes -> Text,
        search_text -> Text,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    concession_changes (seq) {
        seq -> BigInt,
        at -> Timestamp,
        code -> Text,
        change -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
    }
}

diesel::table! {
    event_concessions (event_id, concession_id) {
        event_id -> Text,
        concession_id -> Text,
    }
}

diesel::table! {
    districts (ubigeo) {
        ubigeo -> Text,
        name -> Text,
        province -> Text,
        region -> Text,
        geometry -> Text,
    }
}

diesel::table! {
    registry_state (id) {
        id -> Integer,
        concessions_version -> BigInt,
        districts_version -> BigInt,
    }
}

diesel::table! {
    watch_state (id) {
        id -> Integer,
        areas_version -> BigInt,
    }
}

diesel::table! {
    watches (id) {
        id -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        owner_key_id -> Nullable<Text>,
        email -> Text,
        target_type -> Text,
        concession_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        area -> Nullable<Text>,
        min_lon -> Nullable<Double>,
        min_lat -> Nullable<Double>,
        max_lon -> Nullable<Double>,
        max_lat -> Nullable<Double>,
        ubigeo -> Nullable<Text>,
        event_types -> Text,
        min_verification -> Text,
        frequency -> Text,
        language -> Text,
        status -> Text,
        activated_at -> Nullable<Timestamp>,
        confirm_nonce -> Text,
        confirm_expires_at -> Timestamp,
        confirm_sent_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        status_reason -> Nullable<Text>,
        feed_nonce -> Text,
    }
}

diesel::table! {
    alerts (id) {
        id -> Text,
        kind -> Text,
        watch_id -> Text,
        event_id -> Nullable<Text>,
        recipient -> Text,
        frequency -> Text,
        reason -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhooks (watch_id) {
        watch_id -> Text,
        url -> Text,
        secret -> Text,
        created_at -> Timestamp,
        rotated_at -> Timestamp,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (alert_id) {
        alert_id -> Text,
        watch_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::joinable!(webhooks -> watches (watch_id));
diesel::joinable!(webhook_deliveries -> alerts (alert_id));
diesel::joinable!(webhook_deliveries -> watches (watch_id));

diesel::table! {
    secrets (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        name -> Text,
        case_type -> Text,
        activity -> Nullable<Text>,
        region -> Nullable<Text>,
        province -> Nullable<Text>,
        district -> Nullable<Text>,
        ubigeo -> Nullable<Text>,
        name_key -> Text,
        region_key -> Nullable<Text>,
        province_key -> Nullable<Text>,
        district_key -> Text,
        status -> Nullable<Text>,
        phase -> Nullable<Text>,
        first_report -> Nullable<Integer>,
        last_report -> Nullable<Integer>,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    case_companies (case_id, actor_id) {
        case_id -> Text,
        actor_id -> Text,
    }
}

diesel::table! {
    report_entries (id) {
        id -> Text,
        case_id -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        report_number -> Integer,
        report_month -> Text,
        status -> Text,
        phase -> Nullable<Text>,
        violence -> Bool,
        dialogue -> Bool,
        description -> Text,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    staged_uploads (id) {
        id -> Text,
        owner -> Text,
        purpose -> Text,
        filename -> Text,
        data -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_dismissals (event_id, case_id) {
        event_id -> Text,
        case_id -> Text,
        dismissed_at -> Timestamp,
        dismissed_by -> Text,
    }
}

diesel::table! {
    event_cases (event_id, case_id) {
        event_id -> Text,
        case_id -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::joinable!(event_actors -> actors (actor_id));
diesel::joinable!(event_actors -> events (event_id));
diesel::joinable!(event_concessions -> concessions (concession_id));
diesel::joinable!(event_concessions -> events (event_id));
diesel::joinable!(concessions -> actors (holder_id));
diesel::joinable!(alerts -> watches (watch_id));
diesel::joinable!(alerts -> events (event_id));
diesel::table! {
    backup_runs (id) {
        id -> Text,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        ok -> Bool,
        path -> Text,
        bytes -> BigInt,
        detail -> Text,
    }
}

diesel::joinable!(case_companies -> cases (case_id));
diesel::joinable!(case_companies -> actors (actor_id));
diesel::joinable!(report_entries -> cases (case_id));
diesel::joinable!(event_cases -> cases (case_id));
diesel::joinable!(event_cases -> events (event_id));

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_key -> Text,
        display_name -> Text,
        name_key -> Text,
        role -> Text,
        password_hash -> Nullable<Text>,
        language -> Text,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
        version -> BigInt,
        last_sign_in_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    user_links (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> Text,
        subject -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    account_mails (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (owner, key) {
        owner -> Text,
        key -> Text,
        fingerprint -> Text,
        status -> Integer,
        body -> Text,
        location -> Nullable<Text>,
        etag -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachment_blobs (sha256) {
        sha256 -> Text,
        bytes -> BigInt,
        data -> Nullable<Binary>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> Text,
        event_id -> Nullable<Text>,
        case_id -> Nullable<Text>,
        filename -> Text,
        content_type -> Text,
        bytes -> BigInt,
        sha256 -> Text,
        thumbnail_sha256 -> Nullable<Text>,
        original_sha256 -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Text,
        deleted_at -> Nullable<Timestamp>,
        public -> Bool,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_links -> users (user_id));

diesel::table! {
    import_jobs (id) {
        id -> Text,
        kind -> Text,
        file_name -> Text,
        crs -> Text,
        state -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        report_json -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    /// Written by triggers only (see `crate::changes`).
    changes (seq) {
        seq -> BigInt,
        txid -> BigInt,
        entity -> Text,
        entity_id -> Text,
        kind -> Text,
        at -> Timestamp,
    }
}
diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    user_links,
    actors,
    event_actors,
    concessions,
    event_concessions,
    events,
    districts,
    registry_state,
    watch_state,
    watches,
    alerts,
    cases,
    case_companies,
    report_entries,
    event_cases,
    case_dismissals,
    staged_uploads,
    attachments,
    attachment_blobs,
    webhooks,
    webhook_deliveries,
    event_publications,
);
