#include "broker/acme/http01.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>

namespace jitb::acme {

namespace {

constexpr size_t kMaxResponse = 16 * 1024;
using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int msLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool waitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, msLeft(deadline)) == 1 && (p.revents & (events | POLLHUP));
}

// A non-blocking connect bounded by the deadline; -1 when it fails.
int connectTo(const addrinfo* ai, Clock::time_point deadline) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) return -1;
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (!waitFor(fd, POLLOUT, deadline) || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
      err != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

core::StatusOr<std::string> SocketHttp01Client::fetch(const std::string& name,
                                                      const std::string& token) {
  const auto deadline = Clock::now() + timeout_;
  const std::string where = "http://" + name + ":" + std::to_string(port_);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = address_.empty() ? 0 : AI_NUMERICHOST;
  addrinfo* res = nullptr;
  std::string host = address_.empty() ? name : address_;
  if (::getaddrinfo(host.c_str(), std::to_string(port_).c_str(), &hints, &res) != 0 || !res)
    return core::unavailable("cannot resolve " + host);
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(res, ::freeaddrinfo);
  Fd conn;
  for (const addrinfo* ai = res; ai && conn.fd < 0; ai = ai->ai_next) conn.fd = connectTo(ai, deadline);
  if (conn.fd < 0) return core::unavailable("cannot connect to " + where);
  std::string req = "GET /.well-known/acme-challenge/" + token + " HTTP/1.1\r\nHost: " + name +
                    "\r\nUser-Agent: jitbroker-acme\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < req.size()) {
    if (!waitFor(conn.fd, POLLOUT, deadline)) return core::unavailable("timed out sending to " + where);
    ssize_t n = ::send(conn.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return core::unavailable("cannot send to " + where);
    sent += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[4096];
  for (;;) {
    if (!waitFor(conn.fd, POLLIN, deadline)) return core::unavailable("timed out reading from " + where);
    ssize_t n = ::recv(conn.fd, buf, sizeof buf, 0);
    if (n < 0) return core::unavailable("cannot read from " + where);
    if (n == 0) break;
    resp.append(buf, static_cast<size_t>(n));
    if (resp.size() > kMaxResponse) return core::unavailable("the response from " + where + " is too large");
  }
  size_t head_end = resp.find("\r\n\r\n");
  if (resp.compare(0, 9, "HTTP/1.1 ") != 0 && resp.compare(0, 9, "HTTP/1.0 ") != 0)
    return core::unavailable(where + " did not answer HTTP");
  if (head_end == std::string::npos) return core::unavailable(where + " sent an incomplete response");
  if (resp.compare(9, 3, "200") != 0)
    return core::unavailable(where + " answered " + resp.substr(9, 3) + ", not 200");
  std::string head = resp.substr(0, head_end);
  std::string body = resp.substr(head_end + 4);
  // Chunked bodies: certbot's and lego's servers send Content-Length, but decode the simple case.
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    std::string out;
    size_t pos = 0;
    for (;;) {
      size_t eol = body.find("\r\n", pos);
      if (eol == std::string::npos) break;
      size_t len = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (len == 0 || eol + 2 + len > body.size()) break;
      out += body.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    body = out;
  }
  return body;
}

}  // namespace jitb::acme
