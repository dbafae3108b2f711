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
