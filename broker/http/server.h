// The HTTPS listener: Boost.Beast over OpenSSL, one io_context run by a thread per core.
// This header exposes no Beast or Asio type; server.cc is the only translation unit of the
// broker that includes Asio's sockets and TLS, and beast_convert.cc the only other one with
// Beast's messages (they dominate build time).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "broker/core/status.h"
#include "broker/http/access_log.h"
#include "broker/http/router.h"
#include "broker/metrics/registry.h"

namespace jitb::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8443;  // 0 binds a free port; port() tells which
  unsigned threads = 0;  // I/O threads (TLS, parsing); 0: one per core
  // Plain handlers may block (a ticket event waits for its store write and audit record, an
  // admin revocation for the CRL): they run on a pool of their own so that the I/O threads
  // keep serving. Async handlers (issuance) run on the I/O threads and offload only what may
  // block. 0: the I/O threads run everything.
  unsigned handler_threads = 64;
  std::string cert_chain_file;  // PEM: leaf first, then intermediates
  std::string key_file;
  std::string client_ca_file;  // when set, client certificates are requested and verified
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 * 1024;
  // From accept to a completed TLS handshake: short, since a socket that never starts TLS
  // holds a connection slot for this long.
  std::chrono::milliseconds handshake_timeout{3'000};
  std::chrono::milliseconds read_timeout{15'000};  // per request, idle keep-alive included
  size_t max_connections = 4096;
  // Per source address (an IPv6 address counts by its /64): one address cannot take every slot.
  size_t max_connections_per_address = 256;
  std::chrono::milliseconds drain_timeout{15'000};
  std::function<void(const AccessRecord&)> access_log;  // optional
  std::function<void()> on_reload;                      // SIGHUP, on a handler thread; optional
};

class HttpsServer {
 public:
  HttpsServer(ServerOptions opts, const Router& router, metrics::Registry& metrics);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Binds and listens; not yet serving. The TLS material may be loaded after this, once the
  // bound port is known (the broker's own certificate names it). SIGTERM, SIGINT and SIGHUP
  // are caught from here on and acted on once run() starts.
  core::Status listen();
  // Loads the certificate chain and key named in the options (or given here).
  core::Status loadTls(const std::string& cert_chain_file, const std::string& key_file,
                       const std::string& client_ca_file = "");
  uint16_t port() const;

  // Serves until SIGTERM/SIGINT or shutdown(): then stops accepting, lets in-flight requests
  // finish (up to drain_timeout) and returns.
  void run();
  // Thread-safe; starts the same graceful drain as SIGTERM.
  void shutdown();

  struct Impl;  // opaque; public only so server.cc's session type can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace jitb::http
