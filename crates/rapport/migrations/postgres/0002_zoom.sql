-- An OAuth authorization in flight: bound to the browser session that started it, single use,
-- short-lived. Stored in the database so any node can finish the flow.
CREATE TABLE oauth_states (
    state_hash     TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    session_hash   TEXT NOT NULL,
    user_id        BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    pkce_verifier  TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);

-- A user's link to an outside account (Zoom first). Every column below `provider` came from
-- the provider and is deleted on disconnect or deauthorization (the row goes).
CREATE TABLE connections (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id               BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id              BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider             TEXT NOT NULL,
    external_user_id     TEXT NOT NULL,
    external_account_id  TEXT,
    external_email       TEXT,
    plan_type            BIGINT,
    scopes               TEXT NOT NULL,
    access_token         TEXT NOT NULL,
    refresh_token        TEXT NOT NULL,
    access_expires_at    TIMESTAMPTZ NOT NULL,
    api_url              TEXT,
    status               TEXT NOT NULL,
    status_reason        TEXT,
    version              BIGINT NOT NULL,
    refresh_lease_until  TIMESTAMPTZ,
    refresh_lease_owner  TEXT,
    connected_at         TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    needs_reconnect_since TIMESTAMPTZ,
    UNIQUE (provider, user_id),
    UNIQUE (provider, external_user_id)
);

-- Webhook deliveries already accepted (Zoom retries; a retry is answered 200 and ignored).
CREATE TABLE webhook_events (
    dedupe_key   TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE feature_flags (
    name        TEXT PRIMARY KEY,
    mode        TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE feature_flag_targets (
    name     TEXT NOT NULL,
    org_id   BIGINT REFERENCES organizations(id) ON DELETE CASCADE,
    user_id  BIGINT REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX feature_flag_targets_name ON feature_flag_targets (name);
