-- A search in a large organization reads its first page from the contacts whose names begin
-- like the cursor's (contacts::storage::list). The trigram index of 0005 returns every match of
-- a term in no particular order, so a surname matching 5,500 of 1,000,000 contacts read 5,500
-- rows to show 50 (~30 ms on the benchmark machine). Grouped by organization and first
-- character, the first page of that surname reads the ~500 matches of its group.

-- Names compare by code point, as on SQLite, whatever the database's default collation: a
-- contact of a later group must never sort before one of an earlier group, and under a
-- linguistic collation they would ("émile" sorts among the e's there, but its first character
-- is past 'z').
ALTER TABLE contacts ALTER COLUMN sort_key TYPE TEXT COLLATE "C";

-- org_id * 32 + the level of the name's first character: the same levels as SQLite's search
-- buckets (migration 0011 there; contacts::storage::search_bucket), never lower for a name
-- that sorts later. Level 0 is an empty name, which validation never lets through.
ALTER TABLE contacts ADD COLUMN search_group BIGINT GENERATED ALWAYS AS (
    org_id * 32 + CASE
        WHEN ascii(sort_key) = 0 THEN 0                      -- empty
        WHEN ascii(sort_key) < 48 THEN 1                     -- before '0'
        WHEN ascii(sort_key) <= 57 THEN 2                    -- '0'..'9'
        WHEN ascii(sort_key) < 97 THEN 3                     -- ':'..'`'
        WHEN ascii(sort_key) <= 122 THEN ascii(sort_key) - 93  -- 'a' = 4 .. 'z' = 29
        WHEN ascii(sort_key) < 128 THEN 30                   -- '{'..DEL
        ELSE 31                                              -- beyond ASCII
    END
) STORED;

-- btree_gin (0005) lets the group share the index with the trigrams: one index scan finds the
-- matches of one group of one organization.
CREATE INDEX contacts_group_search_trgm ON contacts USING gin (search_group, search_text gin_trgm_ops);
