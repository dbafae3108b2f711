-- Contact search at any size: the trigram index of 0001 covered every organization, so the
-- planner preferred walking the organization's name index and filtering (20 ms for a common
-- name at 100,000 contacts, far more for a rare one). Scoped to the organization (btree_gin
-- lets org_id share the GIN index), a search reads only its own matches. Both extensions ship
-- with PostgreSQL (contrib) and are trusted: a database owner may create them.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX contacts_org_search_trgm ON contacts USING gin (org_id, search_text gin_trgm_ops);
DROP INDEX contacts_search_trgm;

-- The contacts page shows how many contacts the organization has on every view; counting
-- them each time costs as much as reading them all. The count is kept on the organization.
ALTER TABLE organizations ADD COLUMN contact_count BIGINT NOT NULL DEFAULT 0;

UPDATE organizations
SET contact_count = (SELECT COUNT(*) FROM contacts WHERE contacts.org_id = organizations.id);

CREATE FUNCTION contacts_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE organizations SET contact_count = contact_count + 1 WHERE id = NEW.org_id;
    ELSE
        UPDATE organizations SET contact_count = contact_count - 1 WHERE id = OLD.org_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER contacts_count AFTER INSERT OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_count_change();
