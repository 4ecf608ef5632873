ALTER TABLE watches DROP COLUMN feed_nonce;
