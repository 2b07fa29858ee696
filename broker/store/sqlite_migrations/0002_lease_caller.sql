-- The caller the decision allowed, so a lease can be judged again.
ALTER TABLE leases ADD COLUMN caller_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE leases ADD COLUMN caller_claims TEXT NOT NULL DEFAULT '';
