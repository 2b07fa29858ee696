-- Revoked SSH certificates join revoked X.509 ones for the KRL's read (revoked, unexpired SSH
-- leases), written by the statement that ends them (pg_rows.h PG_END_LEASES). A partial index
-- on leases.state would make every lease end rewrite all of the table's indexes again
-- (0002_active_set.sql says why not).
ALTER TABLE revoked_certificates ADD COLUMN kind SMALLINT NOT NULL DEFAULT 1;
INSERT INTO revoked_certificates (id, expires_at, kind)
  SELECT id, expires_at, kind FROM leases WHERE state = 2 AND kind = 2;
DROP INDEX revoked_certificates_expiry;
CREATE INDEX revoked_certificates_kind_expiry ON revoked_certificates (kind, expires_at);
