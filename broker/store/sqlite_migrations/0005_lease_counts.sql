-- Active leases per subject and per ticket, so that quotas are enforced by the lease insert's
-- transaction (sqlite_lease_counts.cc) rather than by one process's memory. The trigger lowers
-- the count in the very statement that ends a lease, so every end path keeps it right and a
-- crash cannot separate the two.
CREATE TABLE lease_counts (
  scope TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (scope, key));
INSERT INTO lease_counts (scope, key, n)
  SELECT 'subject', subject, count(*) FROM leases WHERE state = 0 GROUP BY subject;
INSERT INTO lease_counts (scope, key, n)
  SELECT 'ticket', ticket, count(*) FROM leases WHERE state = 0 GROUP BY ticket;
CREATE TRIGGER lease_counts_end AFTER UPDATE OF state ON leases
  WHEN OLD.state = 0 AND NEW.state <> 0
BEGIN
  UPDATE lease_counts SET n = n - 1 WHERE scope = 'subject' AND key = OLD.subject;
  UPDATE lease_counts SET n = n - 1 WHERE scope = 'ticket' AND key = OLD.ticket;
END;
CREATE TRIGGER lease_counts_delete AFTER DELETE ON leases WHEN OLD.state = 0
BEGIN
  UPDATE lease_counts SET n = n - 1 WHERE scope = 'subject' AND key = OLD.subject;
  UPDATE lease_counts SET n = n - 1 WHERE scope = 'ticket' AND key = OLD.ticket;
END;
