-- When each key was last used, for the admins' keys page: written at most
-- every ten minutes per key (a request is not a write).
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMP;
