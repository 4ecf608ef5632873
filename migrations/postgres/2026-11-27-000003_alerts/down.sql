DROP TABLE secrets;
DROP TABLE alerts;
DROP TABLE watches;
