DROP TABLE settings;
DROP TABLE outbox;
DROP TABLE access_tokens;
DROP TABLE reset_tokens;
DROP TABLE users;
