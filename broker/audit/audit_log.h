// The tamper-evident audit log (docs/operations.md): one JSON object a line, hash-chained.
//   {"seq":7,"time":"...","event":"lease.issued",...fields...,"prev":"<hex>","hash":"<hex>"}
// hash = SHA-256 of the line with its trailing ,"hash":"..." removed (so it covers prev, and
// so any language can check it without re-serialising JSON). Never pass token, signature or
// key material in `fields`.
#pragma once

#include <atomic>
#include <chrono>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <istream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/status.h"

namespace jitb::audit {

struct Record {
  std::string event;
  boost::json::object fields;
  // Fields whose values the caller has already written as JSON text, each one JSON value,
  // written after `fields` in this order: a decision's basis, about 2 KB a token, is cheaper
  // written once as text than built as an object to be serialized here.
  std::vector<std::pair<std::string, std::string>> json_fields = {};
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Appends the records consecutively; durable when it returns OK. Thread-safe.
  virtual core::Status appendAll(std::vector<Record> records) = 0;
  using Done = std::function<void(core::Status)>;
  // When appendAllThen's `done` runs. kSynced: once the records are durable. kWritten: once
  // they are written to the file, in the chain; the sync follows at once, off the caller's
  // path (as Vault answers once its file audit device has written a record). Only for records
  // the store can restore after a power loss (leases::restoreIssuanceRecords).
  enum class Durability { kSynced, kWritten };
  // Starts the append and returns without waiting for the sync; `done` runs when the records
  // are durable or written (see Durability), or failed to be: on this thread before
  // appendAllThen returns, on another appender's, or on one of the log's threads (a kSynced
  // success always on the syncer's). It must be quick and never wait for the log (appendAll
  // there would never return). A failure means the records may or may not be in the log: it
  // never shows less than happened. The default appends before it returns.
  virtual void appendAllThen(std::vector<Record> records, Done done,
                             Durability = Durability::kSynced) {
    done(appendAll(std::move(records)));
  }
  core::Status append(std::string_view event, boost::json::object fields) {
    std::vector<Record> one;
    one.push_back({std::string(event), std::move(fields)});
    return appendAll(std::move(one));
  }
};

class AuditLog final : public AuditSink {
 public:
  // Opens (or creates, 0600) the log and continues its chain. A torn last line from a crash
  // is cut off so the chain stays verifiable. When the file reaches `max_bytes` it is renamed
  // to PATH.<unix ms> and a new file continues the same chain (its first prev is the last
  // hash of the rotated one), so `jitctl audit verify OLD NEW` checks across files.
  // `sync` is fdatasync and `sync_interval` kSyncInterval but for tests.
  using SyncFn = std::function<int(int fd)>;
  static core::StatusOr<std::unique_ptr<AuditLog>> open(
      const std::string& path, const core::Clock& clock, uint64_t max_bytes = 64ull << 20,
      SyncFn sync = nullptr, std::chrono::milliseconds sync_interval = kSyncInterval);
  ~AuditLog() override;

  // What the log held of recent issuances when it was opened, for restoreIssuanceRecords, which
  // takes it once at start (after that it is empty, so the broker does not keep it):
  // the time of its last record (none: an empty log) and the leases of its lease.issued
  // records from 2 x kRecentWindow before that on, in rotated files too. Only a suffix of the
  // log can be lost, and an issuance is appended milliseconds after its lease's issued_at, so
  // a short window suffices; it bounds what a start reads (about 17 MB a second of log at the
  // benchmark's peak rate).
  static constexpr std::chrono::seconds kRecentWindow{10};
  // How long records nobody waits on (kWritten) may stay unsynced (see syncerLoop).
  static constexpr std::chrono::milliseconds kSyncInterval{10};
  struct Recent {
    std::optional<core::TimePoint> last;
    std::unordered_set<std::string> issued;
  };
  Recent takeRecent() { return std::exchange(recent_, {}); }

  // Concurrent appends are written with one write and one fsync (group commit). The write is
  // made by an appending thread: the first that finds no write under way writes what is queued
  // until the queue is empty, so no thread is woken to write (on the benchmark's VM, waking a
  // writer thread per batch cost 7% of the broker's CPU). Under sustained load, and to rotate
  // the file, it hands over to the log's writer thread after a few rounds, so that an I/O
  // thread is never the writer for long.
  core::Status appendAll(std::vector<Record> records) override;
  void appendAllThen(std::vector<Record> records, Done done,
                     Durability durability = Durability::kSynced) override;
  // appendAllThen of records already made into bodies (audit::recordBody), e.g. those a store
  // committed and this file copies.
  void appendBodiesThen(std::vector<std::string> bodies, Done done,
                        Durability durability = Durability::kSynced);
  // Writes what is queued, then refuses new appends. For shutdown: after it returns no
  // completion is pending, so what completions reference may be destroyed.
  void close();

 private:
  AuditLog(std::string path, int fd, const core::Clock& clock, std::string last_hash,
           int64_t last_seq, uint64_t size, uint64_t max_bytes, Recent recent, SyncFn sync,
           std::chrono::milliseconds sync_interval);
  // Renames a full file away and opens a fresh one. On the writer thread only (see drain).
  void rotateIfFull();
  struct Pending {
    std::vector<std::string> bodies;  // serialised record fields, without seq/prev/hash
    Done done;
    Durability durability;
  };
  // Writes the queue until it is empty, by the thread that set writing_ (or took it over).
  void drain(bool on_writer_thread);
  // Takes over from an appender that wrote kAppenderRounds rounds, or found a rotation due.
  void writerLoop();
  static constexpr int kAppenderRounds = 4;
  void writeBatch(std::deque<Pending>& batch);
  // Syncs what was written, off the appenders' path, and completes what waits for that. One
  // fdatasync covers every write before it. Work someone waits on is synced at once; records
  // nobody waits on (kWritten) at most every kSyncInterval, as each sync costs the machine as
  // much CPU as a few issuances and the store restores what a power loss takes.
  void syncerLoop();

  struct File {  // closes its descriptor when the last holder lets go
    explicit File(int f) : fd(f) {}
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ~File();
    int fd;
  };
  struct SyncWork {
    std::shared_ptr<File> file;  // kept open until synced, across a rotation
    std::vector<Done> dones;
  };

  std::string path_;
  // Appended to, with the chain's state below, only by the thread that set writing_ (mu_
  // orders one writing thread's work before the next's).
  std::shared_ptr<File> file_;
  const core::Clock& clock_;
  uint64_t size_, max_bytes_;
  std::string last_hash_;
  int64_t last_seq_;
  Recent recent_;
  std::mutex mu_;
  std::condition_variable idle_cv_;    // writing_ fell to false
  std::condition_variable writer_cv_;  // handoff_ or writer_stop_ rose
  std::deque<Pending> queue_;
  bool writing_ = false;
  bool handoff_ = false;  // writing_ passes to the writer thread
  bool stop_ = false, writer_stop_ = false;
  bool rotate_due_ = false;  // the file is full; by the thread holding writing_
  std::thread writer_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::vector<SyncWork> sync_queue_;
  bool sync_waited_ = false;  // the queue holds work someone waits on
  bool sync_stop_ = false;
  SyncFn sync_;
  const std::chrono::milliseconds sync_interval_;
  // A sync failed: from then on kWritten appends wait for their sync too. It stays set, as
  // after a failed fsync Linux may report later ones clean over pages it dropped.
  std::atomic<bool> sync_failed_{false};
  std::thread syncer_;
};

struct VerifyResult {
  bool ok = false;
  size_t lines = 0;      // lines checked
  size_t bad_line = 0;   // 1-based, when !ok
  std::string message;
  std::string last_hash;  // of the last good line: the prev of a rotated log's next file
};

// Checks every line's hash, the prev links and the seq order. `prev` is the hash the first
// line must link to ("" for a log that starts the chain).
VerifyResult verifyAuditLog(std::istream& in, const std::string& prev = "");

// One line of that check: "" when `line` is a record whose hash matches, whose prev is
// `expected_prev` and whose seq is `expected_seq` (any when negative); both then advance to
// the next record's, and `parsed` (if given) gets the record. Otherwise why not.
std::string checkChainLine(std::string_view line, std::string& expected_prev,
                           int64_t& expected_seq, boost::json::value* parsed = nullptr);

// Lower-case hex SHA-256.
std::string sha256Hex(std::string_view data);

}  // namespace jitb::audit
