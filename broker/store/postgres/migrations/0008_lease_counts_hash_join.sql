-- The lease-count trigger (0005) joins the statement's old and new rows by id. Transition tables
-- carry no statistics, so the planner chose a nested loop: quadratic in the leases one statement
-- ends (10,000 leases took 21 s to revoke). A hash join keeps it linear.
ALTER FUNCTION lease_counts_end() SET enable_nestloop = off;
