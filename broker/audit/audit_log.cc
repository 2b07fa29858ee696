#include "broker/audit/audit_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <future>
#include <string_view>

#include "broker/core/duration.h"

namespace jitb::audit {

namespace json = boost::json;

namespace {
constexpr std::string_view kHashKey = ",\"hash\":\"";
const std::string kGenesis(64, '0');

// Splits a line into (the hashed prefix + "}", the stated hash).
bool splitLine(std::string_view line, std::string& hashed, std::string& stated) {
  size_t at = line.rfind(kHashKey);
  if (at == std::string_view::npos || line.size() < at + kHashKey.size() + 66) return false;
  stated = std::string(line.substr(at + kHashKey.size(), 64));
  if (line.substr(at + kHashKey.size() + 64) != "\"}") return false;
  hashed = std::string(line.substr(0, at)) + "}";
  return true;
}
}  // namespace

std::string sha256Hex(std::string_view data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

core::StatusOr<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path,
                                                         const core::Clock& clock,
                                                         uint64_t max_bytes) {
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
  return std::unique_ptr<AuditLog>(
      new AuditLog(path, fd, clock, last_hash, last_seq, end, max_bytes));
}

AuditLog::AuditLog(std::string path, int fd, const core::Clock& clock, std::string last_hash,
                   int64_t last_seq, uint64_t size, uint64_t max_bytes)
    : path_(std::move(path)),
      fd_(fd),
      clock_(clock),
      size_(size),
      max_bytes_(max_bytes),
      last_hash_(std::move(last_hash)),
      last_seq_(last_seq) {
  writer_ = std::thread([this] { writerLoop(); });
}

AuditLog::~AuditLog() {
  close();
  ::close(fd_);
}

void AuditLog::close() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

core::Status AuditLog::appendAll(std::vector<Record> records) {
  std::promise<core::Status> p;
  std::future<core::Status> done = p.get_future();
  appendAllThen(std::move(records), [&p](core::Status st) { p.set_value(std::move(st)); });
  return done.get();
}

void AuditLog::appendAllThen(std::vector<Record> records, Done done) {
  std::string time = core::formatRfc3339(clock_.now());
  std::vector<std::string> bodies;
  for (auto& r : records) {
    json::object head;
    head["time"] = time;
    head["event"] = r.event;
    for (auto& kv : r.fields) head[kv.key()] = std::move(kv.value());
    bodies.push_back(json::serialize(head));  // {"time":...,...}
  }
  {
    std::lock_guard lk(mu_);
    if (!stop_) {
      queue_.push_back({std::move(bodies), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(core::unavailable("audit log is closing"));
}

void AuditLog::writerLoop() {
  for (;;) {
    std::deque<Pending> batch;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      batch.swap(queue_);
    }
    std::string out;
    std::string hash = last_hash_;
    int64_t seq = last_seq_;
    for (auto& p : batch) {
      for (const auto& body : p.bodies) {
        // {"seq":N,<body fields>,"prev":"..."} then the hash of exactly that text.
        std::string rec = "{\"seq\":" + std::to_string(++seq) + "," + body.substr(1);
        rec.pop_back();
        rec += ",\"prev\":\"" + hash + "\"}";
        hash = sha256Hex(rec);
        rec.pop_back();
        out += rec + std::string(kHashKey) + hash + "\"}\n";
      }
    }
    core::Status st;
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::write(fd_, out.data() + off, out.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    if (off != out.size() || ::fdatasync(fd_) != 0) {
      // Cut what may have been half-written so the chain on disk stays whole.
      off_t end = ::lseek(fd_, 0, SEEK_CUR) - static_cast<off_t>(off);
      if (::ftruncate(fd_, end) == 0) ::lseek(fd_, end, SEEK_SET);
      st = core::unavailable("cannot write the audit log");
    } else {
      last_hash_ = hash;
      last_seq_ = seq;
      size_ += out.size();
      rotateIfFull();
    }
    for (auto& p : batch) p.done(st);
  }
}

void AuditLog::rotateIfFull() {
  if (max_bytes_ == 0 || size_ < max_bytes_) return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                clock_.now().time_since_epoch()).count();
  std::string rotated = path_ + "." + std::to_string(ms);
  int fd = -1;
  if (::rename(path_.c_str(), rotated.c_str()) == 0)
    fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;  // keep appending to the file we have; the next batch tries again
  ::close(fd_);
  fd_ = fd;
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

VerifyResult verifyAuditLog(std::istream& in, const std::string& prev) {
  VerifyResult r;
  std::string expected_prev = prev.empty() ? kGenesis : prev;
  int64_t expected_seq = -1;
  std::string line;
  while (std::getline(in, line)) {
    ++r.lines;
    r.bad_line = r.lines;
    std::string hashed, stated;
    if (!splitLine(line, hashed, stated)) {
      r.message = "line " + std::to_string(r.lines) + ": not an audit record";
      return r;
    }
    if (sha256Hex(hashed) != stated) {
      r.message = "line " + std::to_string(r.lines) + ": hash does not match its content";
      return r;
    }
    json::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("prev") || !v.at("prev").is_string() ||
        !v.as_object().contains("seq") || !v.at("seq").is_int64()) {
      r.message = "line " + std::to_string(r.lines) + ": malformed record";
      return r;
    }
    if (v.at("prev").as_string() != expected_prev) {
      r.message = "line " + std::to_string(r.lines) +
                  ": chain broken (prev does not match the previous line's hash)";
      return r;
    }
    int64_t seq = v.at("seq").as_int64();
    if (expected_seq >= 0 && seq != expected_seq) {
      r.message = "line " + std::to_string(r.lines) + ": seq " + std::to_string(seq) +
                  " where " + std::to_string(expected_seq) + " was expected";
      return r;
    }
    expected_seq = seq + 1;
    expected_prev = stated;
    r.last_hash = stated;
  }
  r.ok = true;
  r.bad_line = 0;
  return r;
}

}  // namespace jitb::audit
