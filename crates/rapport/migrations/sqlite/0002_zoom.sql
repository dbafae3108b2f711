-- An OAuth authorization in flight: bound to the browser session that started it, single use,
-- short-lived. Stored in the database so any node can finish the flow.
CREATE TABLE oauth_states (
    state_hash     TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    session_hash   TEXT NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    pkce_verifier  TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);

-- A user's link to an outside account (Zoom first). Every column below `provider` came from
-- the provider and is deleted on disconnect or deauthorization (the row goes).
CREATE TABLE connections (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id               INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id              INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider             TEXT NOT NULL,
    external_user_id     TEXT NOT NULL,
    external_account_id  TEXT,
    external_email       TEXT,
    plan_type            INTEGER,
    scopes               TEXT NOT NULL,
    access_token         TEXT NOT NULL,
    refresh_token        TEXT NOT NULL,
    access_expires_at    TEXT NOT NULL,
    api_url              TEXT,
    status               TEXT NOT NULL,
    status_reason        TEXT,
    version              INTEGER NOT NULL,
    refresh_lease_until  TEXT,
    refresh_lease_owner  TEXT,
    connected_at         TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    needs_reconnect_since TEXT,
    UNIQUE (provider, user_id),
    UNIQUE (provider, external_user_id)
);

-- Webhook deliveries already accepted (Zoom retries; a retry is answered 200 and ignored).
CREATE TABLE webhook_events (
    dedupe_key   TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    received_at  TEXT NOT NULL
);

CREATE TABLE feature_flags (
    name        TEXT PRIMARY KEY,
    mode        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE feature_flag_targets (
    name     TEXT NOT NULL,
    org_id   INTEGER REFERENCES organizations(id) ON DELETE CASCADE,
    user_id  INTEGER REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX feature_flag_targets_name ON feature_flag_targets (name);
