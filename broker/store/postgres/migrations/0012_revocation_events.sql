-- Revocation fan-out between replicas: every statement that ends leases appends one event
-- naming the leases it ended, in its own transaction, and wakes the other replicas with one
-- NOTIFY (sent at commit, so never for a rolled-back end). Replicas poll the table by seq (the
-- NOTIFY is a hint only) and re-read a few seconds back, since sequence values are taken before
-- their transactions commit, possibly out of order; they read each lease's end (kind, serial,
-- jti, state, reason, ended_at) from its row, which an end never changes again. Rows are
-- pruned after a few minutes. created_at is the insert's wall time (ms), for pruning.
CREATE TABLE revocation_events (
  seq BIGSERIAL PRIMARY KEY,
  lease_ids TEXT[] NOT NULL,
  created_at BIGINT NOT NULL);

-- Once per statement, over its transition tables (as lease_counts_end): one row of ids, not a
-- row per lease, so that revoking 100,000 leases costs one array and one NOTIFY (a row per
-- lease added ~0.6 s to that revocation's 1.1 s on a durable server). Only leases that went
-- from active to ended count, so an UPDATE of other columns (claims, review) or of a lease
-- already ended appends nothing.
CREATE FUNCTION revocation_events_append() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_nestloop = off AS $$
DECLARE
  ids TEXT[];
BEGIN
  SELECT array_agg(nw.id) INTO ids
    FROM old_rows o JOIN new_rows nw ON nw.id = o.id
    WHERE o.state = 0 AND nw.state <> 0;
  IF ids IS NOT NULL THEN
    INSERT INTO revocation_events (lease_ids, created_at)
      VALUES (ids, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    PERFORM pg_notify('jitb_revocations', '');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER revocation_events_append AFTER UPDATE ON leases
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION revocation_events_append();
