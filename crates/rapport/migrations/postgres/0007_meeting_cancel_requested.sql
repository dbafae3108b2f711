-- When Rapport itself deletes a meeting in Zoom, Zoom answers with a meeting.deleted webhook
-- that can be applied before Rapport records its own cancellation. The marker tells the two
-- apart, so the host's "do not email the contact when I delete in Zoom" choice does not apply
-- to a cancellation made in Rapport (meetings::service::cancel).
ALTER TABLE meetings ADD COLUMN cancel_requested_at TIMESTAMPTZ;
