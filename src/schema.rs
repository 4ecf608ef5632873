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
        search_text -> Text,
        deleted_at -> Nullable<Timestamp>,
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
