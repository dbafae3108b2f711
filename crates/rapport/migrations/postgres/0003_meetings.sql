-- A meeting with a contact. The CRM's own record (who, when, topic) stays when Zoom is
-- disconnected; the columns marked "from Zoom" are then cleared and `zoom_link_removed` set.
CREATE TABLE meetings (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id             BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    host_user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_id         BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
    topic              TEXT NOT NULL,
    agenda             TEXT,
    start_at           TIMESTAMPTZ NOT NULL,
    time_zone          TEXT NOT NULL,
    duration_minutes   BIGINT NOT NULL,
    invite_contact     BOOLEAN NOT NULL,
    record_cloud       BOOLEAN NOT NULL,
    status             TEXT NOT NULL,
    failure_reason     TEXT,
    idempotency_key    TEXT NOT NULL,
    ics_uid            TEXT NOT NULL,
    ics_sequence       BIGINT NOT NULL,
    zoom_meeting_id    TEXT,
    zoom_uuid          TEXT,
    join_url           TEXT,
    passcode           TEXT,
    zoom_link_removed  BOOLEAN NOT NULL,
    last_event_ts      BIGINT,
    started_at         TIMESTAMPTZ,
    ended_at           TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, idempotency_key)
);
CREATE INDEX meetings_host_start ON meetings (host_user_id, start_at);
CREATE INDEX meetings_contact ON meetings (contact_id, start_at);
CREATE INDEX meetings_zoom_id ON meetings (zoom_meeting_id);
