#include "broker/http/server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <cmath>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "broker/http/beast_convert.h"
#include "broker/http/conn_limiter.h"
#include "broker/http/errors.h"
#include "broker/http/metric_labels.h"

namespace jitb::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1,     2.5};
}  // namespace

struct HttpsServer::Impl {
  Impl(ServerOptions o, const Router& r, metrics::Registry& m)
      : opts(std::move(o)),
        router(r),
        metrics(m),
        limiter(opts.max_connections, opts.max_connections_per_address) {}

  ServerOptions opts;
  const Router& router;
  metrics::Registry& metrics;
  // Declared before the io_context: sessions destroyed with its pending handlers use them.
  ConnectionLimiter limiter;
  std::atomic<size_t> inflight{0};
  std::atomic<bool> draining{false};
  ssl::context ctx{ssl::context::tls_server};
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  net::signal_set signals{ioc};
  net::steady_timer drain_timer{ioc};
  // After the io_context: destroyed (stopped and joined) first, so a handler still running
  // never posts its answer to a destroyed io_context.
  std::unique_ptr<net::thread_pool> handlers;
  Clock::time_point drain_deadline;
  uint16_t bound_port = 0;

  core::Status setupTls();
  void doAccept();
  void admit(tcp::socket socket);
  void waitSignal();
  void beginDrain();
  void pollDrain();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpsServer::Impl& srv, ConnectionLimiter::Slot slot,
          std::string peer)
      : srv_(srv),
        slot_(std::move(slot)),
        stream_(std::move(socket), srv.ctx),
        peer_(std::move(peer)) {}
  ~Session() {
    if (counted_) --srv_.inflight;
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::get_lowest_layer(self->stream_).expires_after(self->srv_.opts.handshake_timeout);
      self->stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&Session::onHandshake, self->shared_from_this()));
    });
  }

 private:
  void onHandshake(beast::error_code ec) {
    if (ec) return;  // plain HTTP, random bytes, old TLS versions: drop quietly
    doRead();
  }

  void doRead() {
    parser_.emplace();  // a fresh parser per request: limits and state never carry over
    limitParser(*parser_, srv_.opts);
    beast::get_lowest_layer(stream_).expires_after(srv_.opts.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::onHeader, shared_from_this()));
  }

  // From a complete header on, the request counts as in flight: a drain waits for it.
  void onHeader(beast::error_code ec, size_t) {
    if (ec) return onReadError(ec);
    ++srv_.inflight;
    counted_ = true;
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::onRead, shared_from_this()));
  }

  void onRead(beast::error_code ec, size_t) {
    if (ec) return onReadError(ec);
    handle();
  }

  void onReadError(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream) return doClose();
    // Timeout, TLS error or reset: nothing to answer.
    if (auto resp = readErrorResponse(ec, srv_.opts.max_body_bytes)) sendError(std::move(*resp));
  }

  void handle() {
    auto& msg = parser_->get();
    Request req;
    const core::Status target = toRequest(msg, peer_, req);
    if (X509* cert = SSL_get0_peer_certificate(stream_.native_handle())) {
      unsigned char* der = nullptr;
      int len = i2d_X509(cert, &der);
      if (len > 0) req.peer_cert_der.assign(reinterpret_cast<char*>(der), len);
      OPENSSL_free(der);
    }
    bool keep_alive = msg.keep_alive();
    auto started = Clock::now();
    if (!target.ok()) {
      Response resp = errorResponse(target);
      record(req.method, req.path, "unmatched", resp, 0);
      return write(std::move(resp), false);
    }
    // The answer may come from any thread (a handler, or the store's writer once a lease is
    // durable); it is written from the session's strand.
    auto route = std::make_shared<std::string>("unmatched");
    Responder respond(
        [self = shared_from_this(), route, method = req.method, path = req.path, started,
         keep_alive](Response resp) mutable {
          double secs = std::chrono::duration<double>(Clock::now() - started).count();
          // Metrics and the access log on the session's strand too: the sender may be the
          // store's writer thread, which every issuance waits for.
          net::post(self->stream_.get_executor(),
                    [self, route, method = std::move(method), path = std::move(path), secs,
                     resp = std::move(resp), keep_alive]() mutable {
                      self->record(method, path, *route, resp, secs);
                      self->write(std::move(resp), keep_alive);
                    });
        },
        [&srv = srv_](std::function<void()> fn) {
          if (srv.handlers) net::post(*srv.handlers, std::move(fn));
          else net::post(srv.ioc, std::move(fn));
        });
    // Here, on the I/O thread: async handlers do not block, plain ones are offloaded.
    try {
      srv_.router.dispatch(req, *route, respond);
    } catch (const std::exception&) {
      // Handlers return statuses; reaching here is a bug. Answer (unless answered), never crash.
      respond(errorResponse(core::internalError("unhandled exception")));
    }
  }

  void record(const std::string& method, const std::string& path, const std::string& route,
              const Response& resp, double secs) {
    srv_.metrics.add("jitbroker_http_requests_total",
                     {{"route", route},
                      {"method", std::string(methodLabel(method))},
                      {"code", statusLabel(resp.status)}});
    srv_.metrics.observe("jitbroker_http_request_duration_seconds", {{"route", route}}, secs);
    if (srv_.opts.access_log) {
      AccessRecord rec{std::chrono::system_clock::now(), method, path, route, resp.status,
                       std::llround(secs * 1e6), resp.subject, peer_, resp.rule,
                       resp.error};
      srv_.opts.access_log(rec);
    }
  }

  // Errors found while reading: the request may be half-read, so the connection closes.
  void sendError(Response resp) {
    if (!counted_) {
      ++srv_.inflight;
      counted_ = true;
    }
    RequestLine line = requestLineOf(*parser_);
    record(line.method, line.path, "unparsed", resp, 0);
    write(std::move(resp), false);
  }

  void write(Response resp, bool keep_alive) {
    res_ = toBeastResponse(std::move(resp), keep_alive && !srv_.draining);
    bhttp::async_write(stream_, res_,
                       beast::bind_front_handler(&Session::onWrite, shared_from_this(),
                                                 !res_.keep_alive()));
  }

  void onWrite(bool close, beast::error_code ec, size_t) {
    --srv_.inflight;
    counted_ = false;
    if (ec) return;
    if (close) return linger();
    doRead();
  }

  // After an early error answer the peer may still be sending its body; reading and
  // discarding it briefly lets the peer see our answer instead of a connection reset.
  void linger() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->doClose();
                              self->linger();
                            });
  }

  void doClose() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

  HttpsServer::Impl& srv_;
  // Before the stream: given back only once the socket is closed.
  ConnectionLimiter::Slot slot_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  std::array<char, 16 * 1024> scratch_;
  std::string peer_;
  bool counted_ = false;
};

}  // namespace

core::Status HttpsServer::Impl::setupTls() {
  SSL_CTX* c = ctx.native_handle();
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) return core::internalError("cipher list");
  static const unsigned char kSidCtx[] = "jitbroker";
  SSL_CTX_set_session_id_context(c, kSidCtx, sizeof kSidCtx - 1);
  beast::error_code ec;
  ctx.use_certificate_chain_file(opts.cert_chain_file, ec);
  if (ec) return core::invalidArgument("cannot load TLS certificate " + opts.cert_chain_file);
  ctx.use_private_key_file(opts.key_file, ssl::context::pem, ec);
  if (ec) return core::invalidArgument("cannot load TLS key " + opts.key_file);
  if (!opts.client_ca_file.empty()) {
    ctx.load_verify_file(opts.client_ca_file, ec);
    if (ec) return core::invalidArgument("cannot load client CA " + opts.client_ca_file);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(opts.client_ca_file.c_str()))
      SSL_CTX_set_client_CA_list(c, names);
    // Optional: callers without a certificate authenticate with a JWT instead.
    ctx.set_verify_mode(ssl::verify_peer);
  }
  return core::okStatus();
}

void HttpsServer::Impl::doAccept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      return doAccept();  // e.g. EMFILE: keep serving the connections we have
    }
    admit(std::move(socket));
    doAccept();
  });
}

// Over a cap the socket is closed at once, before any TLS work: turning away costs less than
// serving, and the caps hold whatever the peer sends.
void HttpsServer::Impl::admit(tcp::socket socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return;  // already reset by the peer
  std::string ip = ep.address().to_string();
  ConnectionLimiter::Slot slot;
  switch (limiter.admit(addressKey(ip), slot)) {
    case ConnectionLimiter::Admit::kOk:
      std::make_shared<Session>(std::move(socket), *this, std::move(slot),
                                ip + ":" + std::to_string(ep.port()))
          ->run();
      return;
    case ConnectionLimiter::Admit::kAddressCap:
      metrics.add("jitbroker_http_connections_rejected_per_address_total", {});
      [[fallthrough]];
    case ConnectionLimiter::Admit::kTotalCap:
      metrics.add("jitbroker_http_connections_rejected_total", {});
      socket.close(ec);
  }
}

void HttpsServer::Impl::waitSignal() {
  signals.async_wait([this](beast::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      // A reload judges every live lease again (store reads and writes): on a handler thread,
      // so that the I/O thread keeps serving meanwhile.
      if (opts.on_reload) {
        if (handlers) net::post(*handlers, opts.on_reload);
        else opts.on_reload();
      }
      return waitSignal();
    }
    beginDrain();
  });
}

void HttpsServer::Impl::beginDrain() {
  if (draining.exchange(true)) return;
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  drain_deadline = Clock::now() + opts.drain_timeout;
  pollDrain();
}

void HttpsServer::Impl::pollDrain() {
  if (inflight.load() == 0 || Clock::now() >= drain_deadline) {
    ioc.stop();  // idle keep-alive connections are simply closed
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(10));
  drain_timer.async_wait([this](beast::error_code) { pollDrain(); });
}

HttpsServer::HttpsServer(ServerOptions opts, const Router& router, metrics::Registry& metrics)
    : impl_(std::make_unique<Impl>(std::move(opts), router, metrics)) {
  metrics.declareCounter("jitbroker_http_requests_total", "HTTP requests by route and status.");
  metrics.declareHistogram("jitbroker_http_request_duration_seconds",
                           "Time from a complete request to its response.", kLatencyBuckets);
  metrics.declareCounter("jitbroker_http_connections_rejected_total",
                         "Connections closed at accept because a connection cap was reached.");
  metrics.declareCounter(
      "jitbroker_http_connections_rejected_per_address_total",
      "Connections closed at accept because their source address held its maximum.");
  metrics.declareGauge("jitbroker_http_open_connections", "Open client connections.");
  metrics.addCollector([impl = impl_.get()](metrics::Registry& r) {
    r.set("jitbroker_http_open_connections", {}, static_cast<double>(impl->limiter.open()));
  });
}

HttpsServer::~HttpsServer() = default;

core::Status HttpsServer::loadTls(const std::string& cert_chain_file, const std::string& key_file,
                                  const std::string& client_ca_file) {
  impl_->opts.cert_chain_file = cert_chain_file;
  impl_->opts.key_file = key_file;
  impl_->opts.client_ca_file = client_ca_file;
  return impl_->setupTls();
}

core::Status HttpsServer::listen() {
  beast::error_code ec;
  auto addr = net::ip::make_address(impl_->opts.host == "localhost" ? "127.0.0.1"
                                                                     : impl_->opts.host, ec);
  if (ec) return core::invalidArgument("listen host must be an IP address: " + impl_->opts.host);
  tcp::endpoint ep(addr, impl_->opts.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::unavailable("cannot listen on " + impl_->opts.host + ":" +
                             std::to_string(impl_->opts.port) + ": " + ec.message());
  }
  impl_->bound_port = a.local_endpoint().port();
  // Caught from here on, not from run(): a SIGTERM (or SIGHUP) that arrives once the caller has
  // announced the port but before run() is queued for waitSignal() instead of killing us.
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    impl_->signals.add(sig, ec);
    if (ec)
      return core::internalError("cannot catch signal " + std::to_string(sig) + ": " +
                                 ec.message());
  }
  return core::okStatus();
}

uint16_t HttpsServer::port() const { return impl_->bound_port; }

void HttpsServer::run() {
  Impl& s = *impl_;
  s.waitSignal();
  s.doAccept();
  unsigned n = s.opts.threads ? s.opts.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  if (s.opts.handler_threads)
    s.handlers = std::make_unique<net::thread_pool>(s.opts.handler_threads);
  for (unsigned i = 1; i < n; ++i) pool.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : pool) t.join();
  if (s.handlers) {
    // Drained (or past the deadline): a handler still running finishes; queued ones are dropped.
    s.handlers->stop();
    s.handlers->join();
  }
}

void HttpsServer::shutdown() {
  net::post(impl_->ioc, [impl = impl_.get()] { impl->beginDrain(); });
}

}  // namespace jitb::http
