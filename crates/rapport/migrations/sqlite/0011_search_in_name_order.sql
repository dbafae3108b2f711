-- Search results in name order straight from the index.
--
-- A search shows the first 50 matches in name order. The trigram index (0006) returns its
-- matches in rowid order, (org_id << 32) + contact id, which says nothing about names: every
-- match of the term in the organization had to be read and sorted to find the first 50
-- (a common surname at 1,000,000 contacts: ~5,600 matches, 16-32 ms), or, past 2,000 matches,
-- the contacts walked in name order (0007). The cost grew with the organization: the
-- benchmark's 1M-contact searches took 13x the 1,000-contact ones.
--
-- Here an entry's rowid puts the first three characters of the contact's sort key between
-- the organization and the contact:
--
--   rowid = org_id << 40 | bucket << 25 | search_seq
--
-- bucket is 15 bits, five per character, from a map that never puts a later character in a
-- lower level (no character, then punctuation, digits, other ASCII, a-z one level each, the
-- rest of ASCII, everything beyond ASCII). a-z have a level each; the other levels are shared,
-- so after the first character that is not a-z the rest count as none (otherwise "!" would
-- get a lower bucket than " x", which sorts before it). A contact that sorts before another
-- never has a higher bucket. FTS5 returns matches in rowid order: the search reads matches until it has a
-- page, finishes the bucket the last one is in, and sorts only those (contacts::storage::list).
-- A search's cost follows the page and the bucket, not the organization.
--
-- search_seq numbers the organization's contacts as they are created (organizations
-- .contacts_created), so rowids stay unique within a bucket. Limits, enforced below with a
-- clear error: organization ids below 2^23 (8,388,608) and 2^25 (33,554,432) contacts created
-- per organization over its life.
DROP TRIGGER contacts_search_insert;
DROP TRIGGER contacts_search_delete;
DROP TRIGGER contacts_search_update;
DROP TRIGGER contacts_count_insert;
DROP TABLE contacts_search;
DROP INDEX contacts_id_org_sort;

ALTER TABLE organizations ADD COLUMN contacts_created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN search_seq INTEGER;
ALTER TABLE contacts ADD COLUMN search_rowid INTEGER AS (
    (org_id << 40)
    | ((CASE
          WHEN unicode(substr(sort_key, 1, 1)) IS NULL THEN 0
          WHEN unicode(substr(sort_key, 1, 1)) < 48 THEN 1
          WHEN unicode(substr(sort_key, 1, 1)) < 58 THEN 2
          WHEN unicode(substr(sort_key, 1, 1)) < 97 THEN 3
          WHEN unicode(substr(sort_key, 1, 1)) < 123 THEN unicode(substr(sort_key, 1, 1)) - 93
          WHEN unicode(substr(sort_key, 1, 1)) < 128 THEN 30
          ELSE 31 END) << 35)
    | ((CASE
          WHEN coalesce(unicode(substr(sort_key, 1, 1)), 0) NOT BETWEEN 97 AND 122 THEN 0
          WHEN unicode(substr(sort_key, 2, 1)) IS NULL THEN 0
          WHEN unicode(substr(sort_key, 2, 1)) < 48 THEN 1
          WHEN unicode(substr(sort_key, 2, 1)) < 58 THEN 2
          WHEN unicode(substr(sort_key, 2, 1)) < 97 THEN 3
          WHEN unicode(substr(sort_key, 2, 1)) < 123 THEN unicode(substr(sort_key, 2, 1)) - 93
          WHEN unicode(substr(sort_key, 2, 1)) < 128 THEN 30
          ELSE 31 END) << 30)
    | ((CASE
          WHEN coalesce(unicode(substr(sort_key, 1, 1)), 0) NOT BETWEEN 97 AND 122 OR coalesce(unicode(substr(sort_key, 2, 1)), 0) NOT BETWEEN 97 AND 122 THEN 0
          WHEN unicode(substr(sort_key, 3, 1)) IS NULL THEN 0
          WHEN unicode(substr(sort_key, 3, 1)) < 48 THEN 1
          WHEN unicode(substr(sort_key, 3, 1)) < 58 THEN 2
          WHEN unicode(substr(sort_key, 3, 1)) < 97 THEN 3
          WHEN unicode(substr(sort_key, 3, 1)) < 123 THEN unicode(substr(sort_key, 3, 1)) - 93
          WHEN unicode(substr(sort_key, 3, 1)) < 128 THEN 30
          ELSE 31 END) << 25)
    | search_seq
) VIRTUAL;

WITH numbered AS (
    SELECT id, row_number() OVER (PARTITION BY org_id ORDER BY id) AS seq FROM contacts
)
UPDATE contacts SET search_seq = numbered.seq FROM numbered WHERE numbered.id = contacts.id;

UPDATE organizations
SET contacts_created = (SELECT count(*) FROM contacts WHERE contacts.org_id = organizations.id);

-- The matches are sorted on this index, not on their rows: only the page's rows are read. A
-- bucket's matches sit side by side in it, so a page reads few of its pages (an index on the
-- contact's number instead was measured slower at 1M contacts: docs/benchmarks.md).
CREATE INDEX contacts_search_rowid ON contacts (search_rowid, org_id, sort_key, id);

CREATE VIRTUAL TABLE contacts_search USING fts5(
    search_text,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram'
);

-- Deleted contacts leave no trigrams behind in the index's pages.
INSERT INTO contacts_search (contacts_search, rank) VALUES ('secure-delete', 1);

-- In rowid order: FTS5 keeps entries in memory only while rowids ascend, and writes a segment
-- whenever they do not.
INSERT INTO contacts_search (rowid, search_text)
SELECT search_rowid, search_text FROM contacts ORDER BY search_rowid;

-- One trigger for everything an insert does, in this order: count and number the contact,
-- then index it under the rowid its number completes. (Numbering the contact in the INSERT
-- itself, to spare rewriting the new row here, was tried: seeding 100,000 contacts took no
-- less time, so every insert is numbered here.)
CREATE TRIGGER contacts_after_insert AFTER INSERT ON contacts BEGIN
    UPDATE organizations
    SET contact_count = contact_count + 1, contacts_created = contacts_created + 1
    WHERE id = new.org_id;
    SELECT RAISE(ABORT, 'contact search index: organization id or contact number out of range')
    WHERE new.org_id >= 8388608
       OR (SELECT contacts_created FROM organizations WHERE id = new.org_id) >= 33554432;
    UPDATE contacts
    SET search_seq = (SELECT contacts_created FROM organizations WHERE id = new.org_id)
    WHERE id = new.id;
    INSERT INTO contacts_search (rowid, search_text)
    SELECT search_rowid, search_text FROM contacts WHERE id = new.id;
END;

CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_search WHERE rowid = old.search_rowid;
END;

-- A new name can move the contact to another bucket: its entry moves with it.
CREATE TRIGGER contacts_search_update AFTER UPDATE OF search_text, sort_key ON contacts BEGIN
    DELETE FROM contacts_search WHERE rowid = old.search_rowid;
    INSERT INTO contacts_search (rowid, search_text) VALUES (new.search_rowid, new.search_text);
END;
