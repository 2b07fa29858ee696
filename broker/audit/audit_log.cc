#include "broker/audit/audit_log.h"
#include "broker/audit/record_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <string_view>

#include "broker/core/duration.h"
#include "broker/core/encoding.h"
#include "broker/core/files.h"

namespace jitb::audit {

namespace json = boost::json;

namespace {
constexpr std::string_view kHashKey = ",\"hash\":\"";
const std::string& kGenesis = genesisHash();

// Splits a line into (the hashed prefix + "}", the stated hash).
bool splitLine(std::string_view line, std::string& hashed, std::string& stated) {
  size_t at = line.rfind(kHashKey);
  if (at == std::string_view::npos || line.size() < at + kHashKey.size() + 66) return false;
  stated = std::string(line.substr(at + kHashKey.size(), 64));
  if (line.substr(at + kHashKey.size() + 64) != "\"}") return false;
  hashed = std::string(line.substr(0, at)) + "}";
  return true;
}
std::optional<core::TimePoint> recordTime(std::string_view line) {
  constexpr std::string_view kKey = "\"time\":\"";
  size_t at = line.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  at += kKey.size();
  size_t end = line.find('"', at);
  if (end == std::string_view::npos) return std::nullopt;
  return core::parseRfc3339(line.substr(at, end - at));
}

// Adds the leases of the lease.issued records in `text` (whole lines) to `r`, scanning back
// from the end until a record older than the window; `r.last` is the first time it meets.
// True when the scan reached the start of `text` still inside the window. Matching the text
// is safe: inside a JSON string a quote is escaped, so `"event":"` only starts a real key.
bool collectIssued(std::string_view text, AuditLog::Recent& r) {
  constexpr std::string_view kIssued = "\"event\":\"lease.issued\"";
  constexpr std::string_view kLease = ",\"lease\":\"";
  size_t end = text.size();
  while (end > 0) {
    size_t nl = end >= 2 ? text.rfind('\n', end - 2) : std::string_view::npos;
    size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    std::string_view line = text.substr(start, end - start);
    end = start;
    std::optional<core::TimePoint> t = recordTime(line);
    if (!t) continue;
    if (!r.last) r.last = t;
    if (*t < *r.last - 2 * AuditLog::kRecentWindow) return false;
    size_t at = line.find(kIssued);
    if (at == std::string_view::npos) continue;
    at = line.find(kLease, at);
    if (at == std::string_view::npos) continue;
    at += kLease.size();
    size_t q = line.find('"', at);
    if (q != std::string_view::npos) r.issued.emplace(line.substr(at, q - at));
  }
  return true;
}

// The files rotated away from PATH (PATH.<unix ms>), newest first.
std::vector<std::string> rotatedNewestFirst(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::string prefix = p.filename().string() + ".";
  std::vector<std::pair<long long, std::string>> found;
  std::error_code ec;
  fs::directory_iterator it(p.has_parent_path() ? p.parent_path() : ".", ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string digits = name.substr(prefix.size());
    if (digits.empty() || digits.size() > 18 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    found.emplace_back(std::stoll(digits), it->path().string());
  }
  std::sort(found.rbegin(), found.rend());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

}  // namespace

std::string sha256Hex(std::string_view data) { return core::hexEncode(core::sha256(data)); }

core::StatusOr<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path,
                                                         const core::Clock& clock,
                                                         uint64_t max_bytes, SyncFn sync,
                                                         std::chrono::milliseconds sync_interval) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return core::unavailable("cannot open audit log " + path + ": " + std::strerror(errno));
  // Find the last complete line: its hash and seq continue the chain.
  std::string content;
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) content.append(buf, static_cast<size_t>(n));
  size_t end = content.size();
  if (end > 0 && content[end - 1] != '\n') {
    end = content.rfind('\n', end - 1);
    end = end == std::string::npos ? 0 : end + 1;
    if (::ftruncate(fd, static_cast<off_t>(end)) != 0) {
      ::close(fd);
      return core::unavailable("cannot repair the torn end of the audit log");
    }
  }
  std::string last_hash = kGenesis;
  int64_t last_seq = 0;
  if (end > 0) {
    size_t start = content.rfind('\n', end - 2);
    start = start == std::string::npos ? 0 : start + 1;
    std::string_view line(content.data() + start, end - 1 - start);
    std::string hashed, stated;
    json::error_code ec;
    json::value v = json::parse(line, ec);
    if (!splitLine(line, hashed, stated) || ec || !v.is_object() ||
        !v.as_object().contains("seq") || !v.at("seq").is_int64()) {
      ::close(fd);
      return core::unavailable("the audit log's last line is damaged; run jitctl audit verify");
    }
    last_hash = stated;
    last_seq = v.at("seq").as_int64();
  }
  ::lseek(fd, 0, SEEK_END);
  Recent recent;
  if (collectIssued(std::string_view(content.data(), end), recent)) {
    for (const std::string& older : rotatedNewestFirst(path)) {
      auto text = core::readFile(older);
      if (!text.ok() || !collectIssued(*text, recent)) break;
    }
  }
  if (!sync) sync = [](int f) { return ::fdatasync(f); };
  return std::unique_ptr<AuditLog>(new AuditLog(path, fd, clock, last_hash, last_seq, end,
                                                max_bytes, std::move(recent), std::move(sync),
                                                sync_interval));
}

AuditLog::AuditLog(std::string path, int fd, const core::Clock& clock, std::string last_hash,
                   int64_t last_seq, uint64_t size, uint64_t max_bytes, Recent recent,
                   SyncFn sync, std::chrono::milliseconds sync_interval)
    : path_(std::move(path)),
      file_(std::make_shared<File>(fd)),
      clock_(clock),
      size_(size),
      max_bytes_(max_bytes),
      last_hash_(std::move(last_hash)),
      last_seq_(last_seq),
      recent_(std::move(recent)),
      sync_(std::move(sync)),
      sync_interval_(sync_interval) {
  writer_ = std::thread([this] { writerLoop(); });
  syncer_ = std::thread([this] { syncerLoop(); });
}

AuditLog::File::~File() { ::close(fd); }

AuditLog::~AuditLog() { close(); }

void AuditLog::close() {
  {
    std::unique_lock lk(mu_);
    stop_ = true;
    idle_cv_.wait(lk, [&] { return !writing_; });  // the queue is written by then
    writer_stop_ = true;
  }
  writer_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {  // after the writes: what they handed over is synced before the syncer stops
    std::lock_guard lk(sync_mu_);
    sync_stop_ = true;
  }
  sync_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
}

core::Status AuditLog::appendAll(std::vector<Record> records) {
  std::promise<core::Status> p;
  std::future<core::Status> done = p.get_future();
  appendAllThen(std::move(records), [&p](core::Status st) { p.set_value(std::move(st)); });
  return done.get();
}

void AuditLog::appendAllThen(std::vector<Record> records, Done done, Durability durability) {
  const core::TimePoint now = clock_.now();
  std::vector<std::string> bodies;
  bodies.reserve(records.size());
  for (const auto& r : records) bodies.push_back(recordBody(r, now));
  appendBodiesThen(std::move(bodies), std::move(done), durability);
}

void AuditLog::appendBodiesThen(std::vector<std::string> bodies, Done done,
                                Durability durability) {
  bool closing = false, write = false;
  {
    std::lock_guard lk(mu_);
    closing = stop_;
    if (!closing) {
      queue_.push_back({std::move(bodies), std::move(done), durability});
      write = !writing_;  // else the thread writing takes it in its next round
      writing_ = true;
    }
  }
  if (closing) return done(core::unavailable("audit log is closing"));  // outside the lock
  if (write) drain(false);
}

void AuditLog::drain(bool on_writer_thread) {
  for (int round = 0;; ++round) {
    std::deque<Pending> batch;
    {
      std::lock_guard lk(mu_);
      if (queue_.empty() && !rotate_due_) {
        writing_ = false;
        idle_cv_.notify_all();
        return;
      }
      // An appender writes a few rounds at most and never rotates (a rotation syncs, renames
      // and syncs the folder): past that the writer thread takes over, writing_ still set.
      if (!on_writer_thread && (round == kAppenderRounds || rotate_due_)) {
        handoff_ = true;
        writer_cv_.notify_one();
        return;
      }
      batch.swap(queue_);
    }
    if (rotate_due_) rotateIfFull();
    if (batch.empty()) continue;
    try {
      writeBatch(batch);
    } catch (...) {  // out of memory: fail what was not answered rather than hang every appender
      for (auto& p : batch)
        if (p.done) std::exchange(p.done, nullptr)(core::unavailable("cannot write the audit log"));
    }
  }
}

void AuditLog::writerLoop() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      writer_cv_.wait(lk, [&] { return handoff_ || writer_stop_; });
      if (!handoff_) return;
      handoff_ = false;
    }
    drain(true);
  }
}

void AuditLog::writeBatch(std::deque<Pending>& batch) {
  std::string out;
  std::string hash = last_hash_;
  int64_t seq = last_seq_;
  for (auto& p : batch) {
    for (const auto& body : p.bodies) {
      std::string prev = std::move(hash);
      out += chainLine(body, ++seq, {}, prev, hash);
      out += '\n';
    }
  }
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::write(file_->fd, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  if (off != out.size()) {
    // Cut what may have been half-written so the chain on disk stays whole.
    off_t end = ::lseek(file_->fd, 0, SEEK_CUR) - static_cast<off_t>(off);
    if (::ftruncate(file_->fd, end) == 0) ::lseek(file_->fd, end, SEEK_SET);
    for (auto& p : batch) std::exchange(p.done, nullptr)(core::unavailable("cannot write the audit log"));
    return;
  }
  last_hash_ = hash;
  last_seq_ = seq;
  size_ += out.size();
  // The chain continues from these records whatever their sync does (later batches may be
  // written by then): a failed sync is reported to those waiting for it.
  SyncWork work{file_, {}};
  bool early = !sync_failed_.load(std::memory_order_acquire);
  for (auto& p : batch) {
    if (early && p.durability == Durability::kWritten) {
      std::exchange(p.done, nullptr)(core::okStatus());
    } else {
      work.dones.push_back(std::exchange(p.done, nullptr));
    }
  }
  bool wake;
  {
    std::lock_guard lk(sync_mu_);
    // Only when the syncer may be asleep with nothing queued, or must not wait out its
    // interval: every other wake-up would find nothing to do.
    wake = sync_queue_.empty() || !work.dones.empty();
    sync_waited_ = sync_waited_ || !work.dones.empty();
    sync_queue_.push_back(std::move(work));
  }
  if (wake) sync_cv_.notify_one();
  rotate_due_ = max_bytes_ != 0 && size_ >= max_bytes_;
}

void AuditLog::syncerLoop() {
  auto last = std::chrono::steady_clock::now() - sync_interval_;  // the first sync is not held
  for (;;) {
    std::vector<SyncWork> work;
    {
      std::unique_lock lk(sync_mu_);
      sync_cv_.wait(lk, [&] { return sync_stop_ || !sync_queue_.empty(); });
      if (sync_queue_.empty()) return;
      sync_cv_.wait_until(lk, last + sync_interval_, [&] { return sync_stop_ || sync_waited_; });
      work.swap(sync_queue_);
      sync_waited_ = false;
    }
    last = std::chrono::steady_clock::now();
    // Usually one file; two right after a rotation.
    bool ok = true;
    const File* synced = nullptr;
    for (const SyncWork& w : work) {
      if (w.file.get() == synced) continue;
      synced = w.file.get();
      ok = sync_(synced->fd) == 0 && ok;
    }
    if (!ok) sync_failed_.store(true, std::memory_order_release);
    core::Status st = ok ? core::okStatus() : core::unavailable("cannot sync the audit log");
    for (SyncWork& w : work) {
      for (Done& d : w.dones) d(st);
    }
  }
}

void AuditLog::rotateIfFull() {
  rotate_due_ = false;  // a failed rotation is tried again after the next write
  if (max_bytes_ == 0 || size_ < max_bytes_) return;
  // The file is complete on disk before it is renamed away (the syncer may sync it again).
  if (sync_(file_->fd) != 0) return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                clock_.now().time_since_epoch()).count();
  std::string rotated = path_ + "." + std::to_string(ms);
  int fd = -1;
  if (::rename(path_.c_str(), rotated.c_str()) == 0)
    fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;  // keep appending to the file we have; the next batch tries again
  file_ = std::make_shared<File>(fd);  // the old one closes once synced
  size_ = 0;
  // Make the rename and the new file durable before records land in it.
  std::string dir = path_.substr(0, path_.find_last_of('/') == std::string::npos
                                        ? 0
                                        : path_.find_last_of('/'));
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string checkChainLine(std::string_view line, std::string& expected_prev,
                           int64_t& expected_seq, boost::json::value* parsed) {
  std::string hashed, stated;
  if (!splitLine(line, hashed, stated)) return "not an audit record";
  if (sha256Hex(hashed) != stated) return "hash does not match its content";
  json::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object() || !v.as_object().contains("prev") || !v.at("prev").is_string() ||
      !v.as_object().contains("seq") || !v.at("seq").is_int64())
    return "malformed record";
  if (v.at("prev").as_string() != expected_prev)
    return "chain broken (prev does not match the previous line's hash)";
  int64_t seq = v.at("seq").as_int64();
  if (expected_seq >= 0 && seq != expected_seq)
    return "seq " + std::to_string(seq) + " where " + std::to_string(expected_seq) +
           " was expected";
  expected_seq = seq + 1;
  expected_prev = std::move(stated);
  if (parsed) *parsed = std::move(v);
  return {};
}

VerifyResult verifyAuditLog(std::istream& in, const std::string& prev) {
  VerifyResult r;
  std::string expected_prev = prev.empty() ? kGenesis : prev;
  int64_t expected_seq = -1;
  std::string line;
  while (std::getline(in, line)) {
    ++r.lines;
    r.bad_line = r.lines;
    if (std::string why = checkChainLine(line, expected_prev, expected_seq); !why.empty()) {
      r.message = "line " + std::to_string(r.lines) + ": " + why;
      return r;
    }
    r.last_hash = expected_prev;
  }
  r.ok = true;
  r.bad_line = 0;
  return r;
}

}  // namespace jitb::audit
