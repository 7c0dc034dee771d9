-- The audit entries of an import's changed households, waiting for the import's commit (issue 6).
-- An import is written part by part in one transaction while its file is read; the audit chain
-- is appended under a lock held to the end of a transaction (PostgreSQL), which would stop every
-- other audited write for the whole read. So on PostgreSQL the entries are put here as each part
-- is written and moved into audit_log, in order, at the commit; the rows are deleted in the same
-- transaction, so that other sessions never see them. (A table rather than a temporary one: the
-- deployment's role may not create temporary tables. SQLite, one writer at a time, does not use it.)
CREATE TABLE import_audit_staging (
    import_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    at {{TS}} NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    action SMALLINT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    region_code BIGINT,
    before_json TEXT,
    after_json TEXT,
    note TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);
