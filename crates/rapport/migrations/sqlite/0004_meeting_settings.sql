-- Whether Rapport emails the contact a cancellation when the host deletes a meeting in Zoom
-- itself (Settings → Meetings). On by default: the contact should not wait for a meeting that
-- is gone.
ALTER TABLE users ADD COLUMN notify_contact_on_zoom_delete BOOLEAN NOT NULL DEFAULT TRUE;
