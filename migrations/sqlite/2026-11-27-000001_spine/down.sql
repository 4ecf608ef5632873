DROP TABLE audit_log;
DROP TABLE events;
DROP TABLE api_keys;
