// The http-01 check (RFC 8555 §8.3): GET http://NAME:PORT/.well-known/acme-challenge/TOKEN
// over plain HTTP, no redirects, a small body and a short deadline. An interface so that
// unit tests can answer for the network.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "broker/core/status.h"

namespace jitb::acme {

class Http01Client {
 public:
  virtual ~Http01Client() = default;
  // The response body of a 200; Unavailable naming the failure (no address, refused, timeout,
  // another status) otherwise.
  virtual core::StatusOr<std::string> fetch(const std::string& name, const std::string& token) = 0;
};

// Connects to `port` on the name's addresses, or on `address` when it is set (a split-horizon
// setup or a test whose names resolve nowhere).
class SocketHttp01Client final : public Http01Client {
 public:
  SocketHttp01Client(uint16_t port, std::string address, std::chrono::milliseconds timeout)
      : port_(port), address_(std::move(address)), timeout_(timeout) {}
  core::StatusOr<std::string> fetch(const std::string& name, const std::string& token) override;

 private:
  uint16_t port_;
  std::string address_;
  std::chrono::milliseconds timeout_;
};

}  // namespace jitb::acme
