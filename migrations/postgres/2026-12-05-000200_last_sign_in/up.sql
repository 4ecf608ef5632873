-- When each person last signed in, for the admins' people page.
ALTER TABLE users ADD COLUMN last_sign_in_at TIMESTAMP;
