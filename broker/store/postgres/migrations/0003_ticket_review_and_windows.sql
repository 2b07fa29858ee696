-- A ticket whose change awaits the review of its leases (set with the ticket's write, cleared
-- once the review ran), and the index by which every replica finds the tickets whose window
-- ended, whichever replica issued their leases.
ALTER TABLE tickets ADD COLUMN review_pending SMALLINT NOT NULL DEFAULT 0;
CREATE INDEX tickets_review_pending ON tickets (received_at) WHERE review_pending = 1;
CREATE INDEX tickets_window_end ON tickets (window_end);
