-- A search of a few hundred matches sorts them by name and shows the first 50. Reading each
-- match's row for its sort key cost a table page per match, mostly outside SQLite's page cache
-- (docs/benchmarks.md: a third of the search's time in reading pages). This index holds just
-- what the sort needs, about a hundred contacts to a page, and the search reads the rows of
-- the 50 it shows only.
CREATE INDEX contacts_id_org_sort ON contacts (id, org_id, sort_key);
