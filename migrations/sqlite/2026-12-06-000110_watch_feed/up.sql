-- The nonce a watch's Atom feed link signs: a new one ("new link") ends the old link.
ALTER TABLE watches ADD COLUMN feed_nonce TEXT NOT NULL DEFAULT '';
