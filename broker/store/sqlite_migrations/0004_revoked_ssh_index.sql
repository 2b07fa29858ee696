-- The KRL's read: revoked SSH certificates (kind 2) that have not yet expired.
CREATE INDEX IF NOT EXISTS leases_revoked_ssh ON leases(expires_at) WHERE state = 2 AND kind = 2;
