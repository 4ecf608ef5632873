DROP TABLE event_cases;
DROP TABLE report_entries;
DROP TABLE case_companies;
DROP TABLE cases;
