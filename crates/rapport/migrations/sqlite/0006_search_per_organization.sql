-- Search per organization.
--
-- The trigram index of 0005 covered every organization at once: a search read the matches of
-- the whole database and kept the organization's. With 1.1M contacts in the database, a
-- 1,000-contact organization searched as slowly as the 1M one (~100 searches/s, benchmark
-- full run). Here each entry's rowid is the organization id in the high 32 bits and the
-- contact id in the low 32, so a search asks FTS5 for one rowid range, which it seeks to in
-- each term's list: the cost follows the organization's matches, as PostgreSQL's
-- (org_id, search_text) index does. The join back to `contacts` still checks org_id, so even a
-- contact id beyond 2^32 could never show up in another organization.
--
-- The index is contentless (it stores only the trigrams, never the text) and
-- contentless_delete lets the triggers delete entries by rowid.
DROP TRIGGER contacts_search_insert;
DROP TRIGGER contacts_search_delete;
DROP TRIGGER contacts_search_update;
DROP TABLE contacts_search;

CREATE VIRTUAL TABLE contacts_search USING fts5(
    search_text,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram'
);

-- Deleted contacts leave no trigrams behind in the index's pages.
INSERT INTO contacts_search (contacts_search, rank) VALUES ('secure-delete', 1);

INSERT INTO contacts_search (rowid, search_text)
SELECT (org_id << 32) + id, search_text FROM contacts;

CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_search (rowid, search_text) VALUES ((new.org_id << 32) + new.id, new.search_text);
END;

CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_search WHERE rowid = (old.org_id << 32) + old.id;
END;

CREATE TRIGGER contacts_search_update AFTER UPDATE OF search_text ON contacts BEGIN
    DELETE FROM contacts_search WHERE rowid = (old.org_id << 32) + old.id;
    INSERT INTO contacts_search (rowid, search_text) VALUES ((new.org_id << 32) + new.id, new.search_text);
END;
