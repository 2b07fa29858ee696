-- The lease-count trigger (0005, 0008) found the leases a statement ended by joining its old and
-- new rows by id, once per scope: two hash joins of 100,000 rows for a ticket's revocation.
-- The count of a key is its number of active leases, so what a statement changes is, per key,
-- its active leases after minus before: two aggregations of the transition tables, no join.
CREATE OR REPLACE FUNCTION lease_counts_end() RETURNS trigger LANGUAGE plpgsql
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
    FROM (SELECT d.scope, d.key, sum(d.d) AS d
          FROM (SELECT 'subject' AS scope, subject AS key, count(*) AS d FROM old_rows
                  WHERE state = 0 GROUP BY subject
                UNION ALL
                SELECT 'ticket', ticket, count(*) FROM old_rows WHERE state = 0 GROUP BY ticket
                UNION ALL
                SELECT 'subject', subject, -count(*) FROM new_rows WHERE state = 0
                  GROUP BY subject
                UNION ALL
                SELECT 'ticket', ticket, -count(*) FROM new_rows WHERE state = 0
                  GROUP BY ticket) d
          GROUP BY d.scope, d.key HAVING sum(d.d) <> 0) e;
  END IF;
  IF scopes IS NULL THEN
    RETURN NULL;  -- the statement changed no lease's activity
  END IF;
  PERFORM 1 FROM lease_counts c JOIN unnest(scopes, keys) AS u(scope, key)
    ON c.scope = u.scope AND c.key = u.key
    ORDER BY c.scope, c.key FOR UPDATE OF c;
  UPDATE lease_counts c SET n = c.n - u.d FROM unnest(scopes, keys, ended) AS u(scope, key, d)
    WHERE c.scope = u.scope AND c.key = u.key;
  RETURN NULL;
END $$;
