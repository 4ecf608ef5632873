ALTER TABLE watches DROP COLUMN status_reason;
