DROP TABLE staged_uploads;
DROP INDEX events_review_queue;
DROP TABLE case_dismissals;
ALTER TABLE events DROP COLUMN verification_note;
