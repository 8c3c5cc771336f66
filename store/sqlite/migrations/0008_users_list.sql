-- 0008: the app users in userName order with what lists filter and search
-- on (active, source, displayName, email). A page of the users list reads
-- this index alone until the page is full, then looks up the page's rows:
-- users is WITHOUT ROWID, so going through users_user_key looks up every row
-- a filter is checked on (at 100,000 users, a rare search read them all).
CREATE INDEX users_list ON users (user_key, active, source, display_name, email);
