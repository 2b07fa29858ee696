// Crash points: a child process drives the store and is killed (SIGKILL) at a random moment,
// between or inside statements; the parent reopens the database and checks what must survive.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

// The child's side of every workload below. The child opens its own store; it ends (exit 3)
// when it cannot.
std::unique_ptr<Store> openInChild(StoreEnv& env) {
  auto opened = env.open();
  if (!opened.ok()) _exit(3);
  return std::move(*opened);
}

// Reports one acknowledged write to the parent as a line on `fd` (exit 4 when it cannot).
void say(int fd, const std::string& line) {
  std::string l = line + "\n";
  if (write(fd, l.data(), l.size()) != static_cast<ssize_t>(l.size())) _exit(4);
}

// Lease `i` of ticket `t`, as the workloads write them.
LeaseRow childLease(const std::string& t, int i) {
  LeaseRow l;
  l.id = t + "-L" + std::to_string(i);
  l.ticket = t;
  l.jti = "jti-" + l.id;
  l.expires_at = 1'000'000;
  return l;
}

// Runs in the child: never returns (the parent kills it). Reports each acknowledged write on
// `fd` as a line, after the store said it was durable.
[[noreturn]] void crashWorkload(StoreEnv& env, int fd, int generation) {
  auto store = openInChild(env);
  Store& s = *store;
  s.enableRevocationJobs();
  for (int r = 0;; ++r) {
    const std::string t = "G" + std::to_string(generation) + "T" + std::to_string(r);
    for (int i = 0; i < 5; ++i) {
      const LeaseRow l = childLease(t, i);
      if (s.insertLease(l).ok()) say(fd, "L " + l.id);
    }
    if (s.revokeTicket(t, "ticket_closed", 2000).ok()) say(fd, "R " + t);
    if (auto v = s.nextCounter("crl"); v.ok()) say(fd, "C " + std::to_string(*v));
  }
}

// Forks a child that runs `workload` (writing acknowledged writes to the fd it gets) and
// kills it at a random instant after its first acknowledgement; returns what it acknowledged.
template <class Workload>
std::string runAndKill(StoreEnv& env, std::mt19937& rng, int generation, Workload workload) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  EXPECT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    workload(env, fds[1], generation);
  }
  close(fds[1]);
  // The kill lands at a random instant after the child's first acknowledged write, however
  // long it took to open the store (a sanitizer build is slow).
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while (out.find('\n') == std::string::npos && (n = read(fds[0], buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 250));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself: exit " << WEXITSTATUS(status);
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  return out;
}

TEST_P(StoreConformance, KilledMidWriteKeepsWhatWasAcknowledgedAndOneJobPerRevocation) {
  std::mt19937 rng(std::random_device{}());
  int64_t counter_seen = 0;
  for (int generation = 0; generation < 8; ++generation) {
    store_.reset();  // the child opens its own; nothing of ours crosses the fork
    replica_.reset();
    const std::string out = runAndKill(*env_, rng, generation, crashWorkload);
    reopen();
    std::istringstream lines(out);
    std::string kind, value;
    int leases = 0, revokes = 0;
    while (lines >> kind >> value) {
      if (kind == "L") {
        ++leases;
        EXPECT_TRUE(store_->getLease(value).value().has_value()) << "lost lease " << value;
      } else if (kind == "R") {
        ++revokes;
        LeaseFilter active;
        active.ticket = value;
        active.state = LeaseState::kActive;
        EXPECT_TRUE(store_->listLeases(active).value().empty()) << "revoked ticket " << value;
      } else if (kind == "C") {
        counter_seen = std::max<int64_t>(counter_seen, std::stoll(value));
      }
    }
    EXPECT_GT(leases, 0) << "the child acknowledged nothing before it was killed";
    EXPECT_GT(revokes, 0);
    // The counter never goes back to a value already handed out.
    const int64_t next = store_->nextCounter("crl").value();
    EXPECT_GT(next, counter_seen);
    counter_seen = next;
  }
  // Every revoked lease has exactly one hook job, and every job a revoked lease: the revocation
  // and its jobs commit together or not at all, whatever instant the kill hit.
  std::map<std::string, int> jobs;
  auto due = store_->dueJobs(INT64_MAX / 2, INT_MAX);
  ASSERT_TRUE(due.ok()) << due.status().detail();
  for (const auto& j : *due) ++jobs[j.lease_id];
  LeaseFilter revoked;
  revoked.state = LeaseState::kRevoked;
  revoked.limit = 1000;
  std::set<std::string> revoked_ids;
  ASSERT_TRUE(
      forEachLease(*store_, revoked, [&](const LeaseRow& l) { revoked_ids.insert(l.id); }).ok());
  EXPECT_FALSE(revoked_ids.empty());
  for (const auto& id : revoked_ids) EXPECT_EQ(jobs[id], 1) << "lease " << id;
  for (const auto& [id, n] : jobs) EXPECT_TRUE(revoked_ids.count(id)) << "job for " << id;

  // The quota counts match the leases left active (the workload's subject is ""): they change
  // in the transactions that insert and end leases, so no kill separates them. A limit of one
  // more than the active leases admits exactly one more.
  LeaseFilter active;
  active.state = LeaseState::kActive;
  active.limit = 1000;
  int64_t active_n = 0;
  ASSERT_TRUE(forEachLease(*store_, active, [&](const LeaseRow&) { ++active_n; }).ok());
  store_->setLeaseQuotas({active_n + 1, 1'000'000});
  LeaseRow one = lease("count-1", "count-T"), two = lease("count-2", "count-T");
  one.subject = two.subject = "";
  EXPECT_TRUE(store_->insertLease(one).ok()) << active_n << " active";
  EXPECT_EQ(quotaRefused(store_->insertLease(two)), "subject") << active_n << " active";
}

// Closes applied with their revocation (applyTicket), killed at any instant: a ticket reads
// closed exactly when none of its leases is active any more, never one without the other.
[[noreturn]] void closeWorkload(StoreEnv& env, int fd, int generation) {
  auto store = openInChild(env);
  Store& s = *store;
  s.enableRevocationJobs();
  for (int r = 0;; ++r) {
    const std::string t = "G" + std::to_string(generation) + "C" + std::to_string(r);
    say(fd, "P " + t);  // before its first write: the parent checks it whatever was written
    if (!s.putTicket({t, "approved", 100, 1'000'000, "{}", 100}).ok()) continue;
    for (int i = 0; i < 3; ++i) (void)s.insertLease(childLease(t, i));
    TicketEffect close{TicketEffect::Kind::kRevokeAll, "ticket_closed", 2000};
    if (s.applyTicket({t, "closed", 200, 1'000'000, "{}", 200}, close).ok()) say(fd, "A " + t);
  }
}

TEST_P(StoreConformance, KilledMidCloseLeavesTheTicketWriteAndItsLeaseEndsTogether) {
  std::mt19937 rng(std::random_device{}());
  int split = 0, acknowledged = 0, checked = 0;
  for (int generation = 0; generation < 8; ++generation) {
    store_.reset();
    replica_.reset();
    const std::string out = runAndKill(*env_, rng, generation, closeWorkload);
    reopen();
    std::istringstream lines(out);
    std::string kind, t;
    while (lines >> kind >> t) {
      auto row = store_->getTicket(t).value();
      const bool closed = row && row->state == "closed";
      if (kind == "A") {
        ++acknowledged;
        EXPECT_TRUE(closed) << "acknowledged close of " << t << " was lost";
        continue;
      }
      ++checked;
      LeaseFilter f;
      f.ticket = t;
      int active = 0, revoked = 0;
      const auto leases = store_->listLeases(f).value();
      for (const auto& l : leases) {
        active += l.state == LeaseState::kActive;
        revoked += l.state == LeaseState::kRevoked;
      }
      if (closed ? active > 0 : revoked > 0) {
        ++split;
        ADD_FAILURE() << t << " is " << (row ? row->state : "missing") << " with " << active
                      << " active and " << revoked << " revoked leases";
      }
    }
  }
  EXPECT_GT(acknowledged, 0);
  EXPECT_EQ(split, 0) << "tickets split by a kill, of " << checked;
}

// Review marks written and cleared, killed at any instant: a mark whose write was acknowledged
// and whose clear was not is still there for the sweep; an acknowledged clear stays cleared.
[[noreturn]] void reviewWorkload(StoreEnv& env, int fd, int generation) {
  auto store = openInChild(env);
  Store& s = *store;
  const TicketEffect review{TicketEffect::Kind::kReview, "", 0};
  for (int r = 0;; ++r) {
    const std::string t = "G" + std::to_string(generation) + "R" + std::to_string(r);
    if (!s.applyTicket({t, "approved", 100, 1'000'000, "{}", 100}, review).ok()) continue;
    say(fd, "M " + t);
    if (r % 2 == 0 && s.finishReview(t, 100).ok()) say(fd, "F " + t);
  }
}

TEST_P(StoreConformance, KilledBetweenAReviewMarkAndItsClearLeavesTheMarkForTheSweep) {
  std::mt19937 rng(std::random_device{}());
  int marked = 0, cleared = 0;
  for (int generation = 0; generation < 4; ++generation) {
    store_.reset();
    replica_.reset();
    const std::string out = runAndKill(*env_, rng, generation, reviewWorkload);
    reopen();
    std::set<std::string> pending;
    const auto rows = store_->pendingReviews(INT64_MAX, INT_MAX).value();
    for (const auto& row : rows) pending.insert(row.id);
    std::istringstream lines(out);
    std::string kind, t;
    std::set<std::string> finished;
    std::vector<std::string> marks;
    while (lines >> kind >> t) (kind == "M" ? marks.push_back(t) : (void)finished.insert(t));
    for (const auto& m : marks) {
      if (finished.count(m)) {
        ++cleared;
        EXPECT_FALSE(pending.count(m)) << "acknowledged clear of " << m << " was lost";
      } else if (std::stoi(m.substr(m.find('R') + 1)) % 2 == 1) {
        ++marked;  // the child never clears odd rounds: the sweep must find them
        EXPECT_TRUE(pending.count(m)) << "acknowledged mark of " << m << " was lost";
      }
    }
  }
  EXPECT_GT(marked, 0);
  EXPECT_GT(cleared, 0);
}

}  // namespace
}  // namespace jitb::store::conformance
