-- Jobs of more than one kind: the revocation hook's POSTs and PostgreSQL role revocations.
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'hook';
