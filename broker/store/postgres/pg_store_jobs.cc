// Hook jobs, counters and delivery claims: the rows several replicas contend for.
#include <algorithm>

#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_store.h"

namespace jitb::store {

using pg::Conn;

core::StatusOr<int64_t> PgStore::nextCounter(const std::string& name) {
  // One upsert: the row lock it takes (or the unique index, for the very first value) orders
  // concurrent increments, and each gets the value its own update produced. A read then a write
  // would hand two callers the same number.
  return queryInt64(
      "INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) "
      "DO UPDATE SET value = counters.value + 1 RETURNING value",
      {name}, "counter");
}

core::StatusOr<bool> PgStore::claimDelivery(const std::string& key, int64_t now) {
  constexpr int64_t kKeepMs = 7LL * 24 * 3600 * 1000;
  bool first = false;
  // The primary key decides: a second claim of the same key waits for the first one's
  // transaction and then conflicts (or inserts, if that one rolled back), so exactly one caller
  // sees true. The prune runs first, as in SQLite, so that a forgotten key can be claimed again.
  core::Status st = inTxn([&](Conn& c) -> core::Status {
    auto prune =
        c.query("DELETE FROM deliveries WHERE at < $1", {now - kKeepMs}, "prune deliveries");
    if (!prune.ok()) return prune.status();
    auto r = c.query(
        "INSERT INTO deliveries (key, at) VALUES ($1, $2) "
        "ON CONFLICT (key) DO NOTHING RETURNING 1",
        {key, now}, "claim delivery");
    if (!r.ok()) return r.status();
    first = r->rows() == 1;
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return first;
}

core::Status PgStore::releaseDelivery(const std::string& key) {
  return onConn([&](Conn& c) {
    return c.query("DELETE FROM deliveries WHERE key = $1", {key}, "release delivery").status();
  });
}

core::StatusOr<std::vector<JobRow>> PgStore::dueJobs(int64_t now, int limit) {
  return dueJobsOf("hook", now, limit);
}

core::Status PgStore::updateLeaseClaims(const std::string& id, const std::string& claims) {
  return onConn([&](Conn& c) {
    return c.query("UPDATE leases SET claims = $1 WHERE id = $2", {claims, id}, "lease claims")
        .status();
  });
}

core::StatusOr<std::vector<JobRow>> PgStore::dueJobsOf(const std::string& kind, int64_t now,
                                                       int limit) {
  std::vector<JobRow> out;
  // FOR UPDATE SKIP LOCKED: a replica claiming at the same moment passes over the rows this
  // one is claiming instead of waiting for them; moving next_at past the claim timeout then
  // hides them from later claims until finishJob/retryJob, or until the claimer is presumed dead.
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(
        "WITH due AS (SELECT id, next_at FROM jobs WHERE state <> 1 AND next_at <= $1 "
        "AND kind = $4 ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) "
        "UPDATE jobs j SET next_at = $1 + $3 FROM due WHERE j.id = due.id "
        "RETURNING j.id, j.lease_id, j.payload, j.attempts, due.next_at, j.state, j.last_error",
        {now, limit, opts_.job_claim_ms, kind}, "claim due jobs");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i)
      out.push_back({r->int64(i, 0), r->text(i, 1), r->text(i, 2), static_cast<int>(r->int64(i, 3)),
                     r->int64(i, 4), static_cast<JobState>(r->int64(i, 5)), r->text(i, 6), kind});
    return core::okStatus();
  });
  if (!st.ok()) return st;
  // Oldest first, as the SQLite store hands them out (RETURNING keeps no order).
  std::sort(out.begin(), out.end(), [](const JobRow& a, const JobRow& b) {
    return a.next_at != b.next_at ? a.next_at < b.next_at : a.id < b.id;
  });
  return out;
}

core::Status PgStore::finishJob(int64_t id) {
  return onConn([&](Conn& c) {
    return c
        .query("UPDATE jobs SET state = 1, attempts = attempts + 1 WHERE id = $1", {id},
               "finish job")
        .status();
  });
}

core::Status PgStore::retryJob(int64_t id, int attempts, int64_t next_at, JobState state,
                               const std::string& error) {
  return onConn([&](Conn& c) {
    return c
        .query(
            "UPDATE jobs SET attempts = $1, next_at = $2, state = $3, last_error = $4 "
            "WHERE id = $5",
            {attempts, next_at, static_cast<int>(state), error, id}, "retry job")
        .status();
  });
}

core::StatusOr<std::pair<int64_t, int64_t>> PgStore::jobCounts() {
  std::pair<int64_t, int64_t> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(
        "SELECT (SELECT count(*) FROM jobs WHERE state = 0), "
        "(SELECT count(*) FROM jobs WHERE state = 2)",
        {}, "job counts");
    if (!r.ok()) return r.status();
    out = {r->int64(0, 0), r->int64(0, 1)};
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace jitb::store
