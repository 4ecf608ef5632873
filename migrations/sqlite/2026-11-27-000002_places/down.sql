DROP TABLE registry_state;
DROP TABLE districts;
DROP TABLE event_concessions;
DROP TABLE concession_changes;
DROP TABLE concessions;
DROP TABLE event_actors;
DROP TABLE actors;
