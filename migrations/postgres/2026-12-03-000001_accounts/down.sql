DROP TABLE account_mails;
ALTER TABLE api_keys DROP COLUMN user_id;
DROP TABLE sign_in_failures;
DROP TABLE user_links;
DROP TABLE sessions;
DROP TABLE users;
