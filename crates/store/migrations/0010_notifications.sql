-- fangpin 0010: notifications in the app (to a role, or a department, within a region) and webhooks
-- that forward them to an SMS / WeChat gateway.

CREATE TABLE notifications (
    id {{ID}},
    -- the village (or other region) it concerns: users whose region contains it see it
    region_code BIGINT NOT NULL,
    role SMALLINT,
    department SMALLINT,
    text TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at {{TS}} NOT NULL
);
CREATE INDEX notifications_role ON notifications (role, region_code, id);

CREATE TABLE notification_reads (
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- every notification up to this id has been read
    read_up_to BIGINT NOT NULL,
    PRIMARY KEY (user_id)
);

CREATE TABLE webhooks (
    id {{ID}},
    role SMALLINT,
    department SMALLINT,
    -- notifications about this region's subtree: [region_lo, region_hi]
    region_code BIGINT NOT NULL,
    region_lo BIGINT NOT NULL,
    region_hi BIGINT NOT NULL,
    url TEXT NOT NULL,
    -- only notifications after the webhook was set up are sent
    start_after BIGINT NOT NULL,
    active BOOLEAN NOT NULL,
    created_by TEXT NOT NULL,
    created_at {{TS}} NOT NULL
);

CREATE TABLE webhook_deliveries (
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id),
    notification_id BIGINT NOT NULL REFERENCES notifications (id),
    -- the HTTP status, 0 while sending, -1 when the gateway could not be reached
    status INTEGER NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    attempted_at {{TS}} NOT NULL,
    PRIMARY KEY (webhook_id, notification_id)
);
