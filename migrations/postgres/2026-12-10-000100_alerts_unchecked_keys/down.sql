ALTER TABLE alerts ADD CONSTRAINT alerts_watch_id_fkey FOREIGN KEY (watch_id) REFERENCES watches (id);
ALTER TABLE alerts ADD CONSTRAINT alerts_event_id_fkey FOREIGN KEY (event_id) REFERENCES events (id);
