-- A search walks the organization's contacts in name order for as long as that is cheap (see
-- contacts::storage::list): a common term fills a page within a few thousand contacts. With
-- search_text carried in the name-order index, the walk is an index-only scan that reads a
-- contact's row only for the page it shows. This index replaces contacts_org_sort, whose key
-- it keeps.
CREATE INDEX contacts_org_sort_search ON contacts (org_id, sort_key, id) INCLUDE (search_text);
DROP INDEX contacts_org_sort;
