-- Contact search at any size. `search_text` (lower-cased name, email and company) gets a
-- trigram index, so "contains" searches of three characters or more look up the matching
-- contacts instead of reading every contact of the organization. An external-content FTS5
-- table stores only the index; triggers keep it in step with `contacts`.
CREATE VIRTUAL TABLE contacts_search USING fts5(
    search_text,
    content = 'contacts',
    content_rowid = 'id',
    tokenize = 'trigram'
);

-- Deleted contacts leave no trigrams behind in the index's pages.
INSERT INTO contacts_search (contacts_search, rank) VALUES ('secure-delete', 1);

INSERT INTO contacts_search (rowid, search_text) SELECT id, search_text FROM contacts;

CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;

CREATE TRIGGER contacts_search_update AFTER UPDATE OF search_text ON contacts BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO contacts_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

-- The contacts page shows how many contacts the organization has on every view; counting
-- them each time costs as much as reading them all. The count is kept on the organization.
ALTER TABLE organizations ADD COLUMN contact_count INTEGER NOT NULL DEFAULT 0;

UPDATE organizations
SET contact_count = (SELECT COUNT(*) FROM contacts WHERE contacts.org_id = organizations.id);

CREATE TRIGGER contacts_count_insert AFTER INSERT ON contacts BEGIN
    UPDATE organizations SET contact_count = contact_count + 1 WHERE id = new.org_id;
END;

CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts BEGIN
    UPDATE organizations SET contact_count = contact_count - 1 WHERE id = old.org_id;
END;
