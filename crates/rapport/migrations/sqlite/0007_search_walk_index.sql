-- A search term that matches many of a large organization's contacts (a common surname in
-- 1,000,000 contacts) is answered by walking the organization's contacts in name order and
-- keeping those whose search text contains the term, until the page is full (see
-- contacts::storage::list). With search_text in the name-order index, SQLite tests each entry
-- in the index itself and reads a contact's row only when it matches. This index replaces
-- contacts_org_sort, whose columns it starts with.
CREATE INDEX contacts_org_sort_search ON contacts (org_id, sort_key, id, search_text);
DROP INDEX contacts_org_sort;
