-- Active leases per subject and per ticket, so that quotas are enforced by the lease insert's
-- transaction (pg_lease_counts.cc) rather than by one replica's memory. The trigger lowers the
-- counts in the very statement that ends leases, so every end path keeps them right and a crash
-- cannot separate the two. The counts start from the leases already active.
CREATE TABLE lease_counts (
  scope TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (scope, key));
INSERT INTO lease_counts (scope, key, n)
  SELECT 'subject', subject, count(*) FROM leases WHERE state = 0 GROUP BY subject;
INSERT INTO lease_counts (scope, key, n)
  SELECT 'ticket', ticket, count(*) FROM leases WHERE state = 0 GROUP BY ticket;

-- Once per statement, over its transition tables: revoking 100,000 leases of one ticket is one
-- update of a few rows, not 200,000. The rows are locked first in (scope, key) order, the order
-- a lease insert takes them (subject, then ticket), so two ends, or an end and an insert, that
-- share keys queue behind each other instead of deadlocking.
CREATE FUNCTION lease_counts_end() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
  scopes TEXT[];
  keys TEXT[];
  ended BIGINT[];
BEGIN
  IF TG_OP = 'DELETE' THEN
    SELECT array_agg(e.scope ORDER BY e.scope, e.key), array_agg(e.key ORDER BY e.scope, e.key),
           array_agg(e.d ORDER BY e.scope, e.key) INTO scopes, keys, ended
    FROM (SELECT 'subject' AS scope, subject AS key, count(*) AS d FROM old_rows
            WHERE state = 0 GROUP BY subject
          UNION ALL
          SELECT 'ticket', ticket, count(*) FROM old_rows WHERE state = 0 GROUP BY ticket) e;
  ELSE
    SELECT array_agg(e.scope ORDER BY e.scope, e.key), array_agg(e.key ORDER BY e.scope, e.key),
           array_agg(e.d ORDER BY e.scope, e.key) INTO scopes, keys, ended
    FROM (SELECT 'subject' AS scope, o.subject AS key, count(*) AS d
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.state = 0 AND n.state <> 0 GROUP BY o.subject
          UNION ALL
          SELECT 'ticket', o.ticket, count(*) FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.state = 0 AND n.state <> 0 GROUP BY o.ticket) e;
  END IF;
  IF scopes IS NULL THEN
    RETURN NULL;  -- the statement ended no lease
  END IF;
  PERFORM 1 FROM lease_counts c JOIN unnest(scopes, keys) AS u(scope, key)
    ON c.scope = u.scope AND c.key = u.key
    ORDER BY c.scope, c.key FOR UPDATE OF c;
  UPDATE lease_counts c SET n = c.n - u.d FROM unnest(scopes, keys, ended) AS u(scope, key, d)
    WHERE c.scope = u.scope AND c.key = u.key;
  RETURN NULL;
END $$;
CREATE TRIGGER lease_counts_end AFTER UPDATE ON leases
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lease_counts_end();
CREATE TRIGGER lease_counts_delete AFTER DELETE ON leases
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lease_counts_end();
