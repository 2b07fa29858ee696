-- Which keys the brokers serving this schema publish (a fingerprint of their CA chain), so that
-- a broker whose keys differ is refused while others run, and replicas with the same keys may
-- share the store (server/replica_lock.cc). One row.
CREATE TABLE broker_identity (
  id SMALLINT PRIMARY KEY CHECK (id = 1),
  key_fingerprint TEXT NOT NULL);
