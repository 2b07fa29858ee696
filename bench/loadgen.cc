// loadgen: an HTTP/1.1 load generator for the broker and its peers, run by bench/run.
//
//   loadgen --url https://127.0.0.1:8443 [--url URL...] --ca-file CA.pem
//           --request token.req[:WEIGHT]... [--scenario NAME] [--connections 16] [--rate R]
//           [--requests N] [--duration S] [--warmup N] [--threads 1] [--timeout S] [--trace FILE]
//
// Keep-alive connections, all opened (and TLS-handshaken) before the clock starts. Without
// --rate the run is closed-loop: every connection sends its next request as soon as the
// previous answer arrives (maximum throughput). With --rate R it is open-loop: request i is
// scheduled at start + i/R whatever happened before, and its latency runs from that scheduled
// time, so a stalled server is charged for the requests it delayed (no coordinated omission).
// The run ends after --requests or --duration, whichever comes first. Only loopback targets are
// accepted: this tool generates load and must not be pointed at someone else's server.
// Several --url values (replicas of one broker, same scheme and host) share the connections:
// connection i goes to URL i mod N, and every figure is over the union, so a p99 is the p99 of
// all requests rather than a mean of per-server p99s.
//
// A request file is a small HTTP template: "METHOD TARGET", header lines, a blank line, the
// body. In headers and body {{file:P}} inserts P's text (trailing whitespace cut), {{json:P}}
// the same escaped for a JSON string, {{form:P}} form-encoded, {{raw:P}} P's exact bytes
// (binary bodies such as DER). P is relative to the request file. With several request files a
// request's kind is drawn at random by weight (default 1).
//
// Output: one line per run (and one per request kind when there are several), key=value:
// latency percentiles count only 2xx answers; every other status is an error counted by status
// (0 = transport failure, after which the connection is reopened). Exit 1 when no request
// succeeded. --trace writes "send_ms latency_ms" per 2xx answer, to find when stalls happened.
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "broker/core/encoding.h"

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

constexpr const char* kUsage =
    "usage: loadgen --url http[s]://HOST:PORT... --request FILE[:WEIGHT]... [--ca-file CA.pem]\n"
    "         [--scenario NAME] [--connections N] [--rate REQ_PER_S] [--requests N]\n"
    "         [--duration SECONDS] [--warmup N] [--threads N] [--timeout SECONDS] [--trace FILE]\n"
    "  Closed-loop without --rate; open-loop at REQ_PER_S with latency from each request's\n"
    "  scheduled time. Loopback targets only. See the top of bench/loadgen.cc.\n";

// ---- request templates ----------------------------------------------------------------------

struct RequestKind {
  std::string name;               // file stem, for the per-kind lines
  std::vector<std::string> wire;  // the whole request as sent, per target (its Host header)
  unsigned weight = 1;
};

std::optional<std::string> readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string jsonEscape(const std::string& s) {
  std::string out;
  jitb::core::appendJsonEscaped(out, s);
  return out;
}

// Expands {{kind:path}} placeholders; an unknown kind or unreadable file is an error.
bool expand(const std::string& in, const std::filesystem::path& dir, std::string& out,
            std::string& err) {
  out.clear();
  size_t pos = 0;
  while (true) {
    size_t open = in.find("{{", pos);
    if (open == std::string::npos) break;
    size_t close = in.find("}}", open);
    size_t colon = in.find(':', open);
    if (close == std::string::npos || colon == std::string::npos || colon > close) {
      err = "malformed placeholder at offset " + std::to_string(open);
      return false;
    }
    out.append(in, pos, open - pos);
    std::string kind = in.substr(open + 2, colon - open - 2);
    std::filesystem::path file = dir / in.substr(colon + 1, close - colon - 1);
    auto text = readFile(file);
    if (!text) {
      err = "cannot read " + file.string();
      return false;
    }
    if (kind != "raw") {
      while (!text->empty() && std::isspace(static_cast<unsigned char>(text->back())))
        text->pop_back();
    }
    if (kind == "raw" || kind == "file")
      out += *text;
    else if (kind == "json")
      out += jsonEscape(*text);
    else if (kind == "form")
      out += jitb::core::percentEncode(*text);
    else {
      err = "unknown placeholder kind '" + kind + "'";
      return false;
    }
    pos = close + 2;
  }
  out.append(in, pos, std::string::npos);
  return true;
}

bool loadRequest(const std::string& arg, const std::vector<std::string>& host_headers,
                 RequestKind& kind, std::string& err) {
  std::string path = arg;
  if (size_t c = arg.rfind(':'); c != std::string::npos && c + 1 < arg.size() &&
                                 arg.find_first_not_of("0123456789", c + 1) == std::string::npos) {
    path = arg.substr(0, c);
    kind.weight = static_cast<unsigned>(std::stoul(arg.substr(c + 1)));
  }
  auto text = readFile(path);
  if (!text) {
    err = "cannot read request file " + path;
    return false;
  }
  kind.name = std::filesystem::path(path).stem().string();
  // Header part up to the first empty line; the body is everything after it.
  size_t sep = text->find("\n\n");
  std::string head = text->substr(0, sep);
  std::string body_tpl = sep == std::string::npos ? "" : text->substr(sep + 2);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::string head_x, body;
  if (!expand(head, dir, head_x, err) || !expand(body_tpl, dir, body, err)) {
    err = path + ": " + err;
    return false;
  }
  std::istringstream lines(head_x);
  std::string line;
  std::getline(lines, line);
  std::istringstream first(line);
  std::string method, target;
  first >> method >> target;
  if (method.empty() || target.empty() || target.front() != '/') {
    err = path + ": the first line must be 'METHOD /target'";
    return false;
  }
  std::string wire;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line.find(':') == std::string::npos) {
      err = path + ": header line without ':': " + line;
      return false;
    }
    wire += line + "\r\n";
  }
  if (!body.empty() || method == "POST" || method == "PUT")
    wire += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  wire += "\r\n" + body;
  for (const auto& h : host_headers)
    kind.wire.push_back(method + " " + target + " HTTP/1.1\r\nHost: " + h +
                        "\r\nUser-Agent: jitb-loadgen\r\n" + wire);
  return true;
}

// ---- the run --------------------------------------------------------------------------------

struct Options {
  std::string scheme, host, ca_file, scenario = "run";
  std::vector<std::string> ports;  // one per --url (same scheme and host)
  std::vector<std::string> request_args;
  unsigned connections = 16, threads = 1;
  double rate = 0;  // 0: closed-loop
  uint64_t requests = 100000, warmup = 0;
  double duration_s = 10, timeout_s = 10;
  std::string trace_file;  // when set: one "send_ms latency_ms" line per 2xx answer
  bool trace = false;
};

// Counts and latencies of one connection; merged after the run, so never shared while running.
struct Tally {
  std::vector<std::vector<double>> latency_ms;  // per request kind, 2xx only
  std::vector<std::map<int, uint64_t>> errors;  // per request kind: status -> count
  Clock::time_point last_done{};
  std::vector<std::pair<double, double>> trace;  // (send time from start, latency), ms; --trace
};

// What every connection reads; written by main before the gates open, then read-only (except
// the slot counters).
struct Shared {
  const Options& opt;
  const std::vector<RequestKind>& kinds;
  std::vector<tcp::resolver::results_type> endpoints;  // per target
  ssl::context* tls = nullptr;                         // null for plain HTTP
  std::atomic<uint64_t> warmup_slot{0}, slot{0};
  std::atomic<unsigned> ready{0};
  Clock::time_point start{}, end{};
};

// One io_context per thread; its gate holds that thread's connections until the start.
struct Worker {
  net::io_context ioc{1};
  net::steady_timer gate{ioc, Clock::time_point::max()};
  std::thread thread;
};

net::awaitable<beast::error_code> open(beast::tcp_stream& s, Shared& sh, size_t target) {
  auto [ec, ep] = co_await s.async_connect(sh.endpoints[target], kTuple);
  if (!ec) s.socket().set_option(tcp::no_delay(true), ec);
  co_return ec;
}

net::awaitable<beast::error_code> open(beast::ssl_stream<beast::tcp_stream>& s, Shared& sh,
                                       size_t target) {
  beast::error_code ec = co_await open(beast::get_lowest_layer(s), sh, target);
  if (ec) co_return ec;
  // The broker's certificate names its listen address: check it like a client would.
  X509_VERIFY_PARAM* param = SSL_get0_param(s.native_handle());
  if (X509_VERIFY_PARAM_set1_ip_asc(param, sh.opt.host.c_str()) != 1) {
    X509_VERIFY_PARAM_set1_host(param, sh.opt.host.c_str(), sh.opt.host.size());
    SSL_set_tlsext_host_name(s.native_handle(), sh.opt.host.c_str());
  }
  auto [hec] = co_await s.async_handshake(ssl::stream_base::client, kTuple);
  co_return hec;
}

std::unique_ptr<beast::tcp_stream> makeStream(net::io_context& ioc, Shared&, beast::tcp_stream*) {
  return std::make_unique<beast::tcp_stream>(ioc);
}
std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> makeStream(
    net::io_context& ioc, Shared& sh, beast::ssl_stream<beast::tcp_stream>*) {
  return std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *sh.tls);
}

template <class Stream>
net::awaitable<void> connection(net::io_context& ioc, net::steady_timer& gate, Shared& sh,
                                Tally& tally, unsigned id) {
  const auto timeout =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(sh.opt.timeout_s));
  std::unique_ptr<Stream> stream;
  bool connected = false;
  beast::flat_buffer buf;
  std::minstd_rand rng(id + 1);
  const size_t target = id % sh.endpoints.size();
  unsigned total_weight = 0;
  for (const auto& k : sh.kinds) total_weight += k.weight;
  auto pick = [&] {
    unsigned r = rng() % total_weight;
    size_t i = 0;
    while (r >= sh.kinds[i].weight) r -= sh.kinds[i++].weight;
    return i;
  };
  auto reconnect = [&]() -> net::awaitable<bool> {
    stream = makeStream(ioc, sh, static_cast<Stream*>(nullptr));
    buf.clear();
    beast::get_lowest_layer(*stream).expires_after(timeout);
    connected = !(co_await open(*stream, sh, target));
    co_return connected;
  };
  // One request and its answer: the HTTP status, or 0 when the transport failed.
  auto exchange = [&](const RequestKind& k) -> net::awaitable<int> {
    if (!connected && !(co_await reconnect())) co_return 0;
    beast::get_lowest_layer(*stream).expires_after(timeout);
    auto [wec, wn] = co_await net::async_write(*stream, net::buffer(k.wire[target]), kTuple);
    bhttp::response_parser<bhttp::string_body> parser;  // fresh per message
    parser.body_limit(16 << 20);
    if (!wec) {
      auto [rec, rn] = co_await bhttp::async_read(*stream, buf, parser, kTuple);
      if (!rec) {
        if (!parser.get().keep_alive()) connected = false;
        co_return static_cast<int>(parser.get().result_int());
      }
    }
    connected = false;
    co_return 0;
  };

  co_await reconnect();
  while (sh.warmup_slot.fetch_add(1) < sh.opt.warmup) co_await exchange(sh.kinds[pick()]);
  ++sh.ready;
  co_await gate.async_wait(kTuple);  // cancelled by main at the start

  net::steady_timer pace(ioc);
  const bool open_loop = sh.opt.rate > 0;
  const double interval_s = open_loop ? 1.0 / sh.opt.rate : 0;
  while (true) {
    uint64_t i = sh.slot.fetch_add(1);
    if (i >= sh.opt.requests) break;
    Clock::time_point sent = Clock::now();
    if (open_loop) {
      Clock::time_point due = sh.start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(i * interval_s));
      if (due >= sh.end) break;
      if (sent < due) {
        pace.expires_at(due);
        co_await pace.async_wait(kTuple);
      }
      sent = due;  // latency from the schedule, not from when we got round to it
    } else if (sent >= sh.end) {
      break;
    }
    size_t k = pick();
    int status = co_await exchange(sh.kinds[k]);
    Clock::time_point done = Clock::now();
    tally.last_done = std::max(tally.last_done, done);
    if (status >= 200 && status < 300) {
      tally.latency_ms[k].push_back(std::chrono::duration<double, std::milli>(done - sent).count());
      if (sh.opt.trace)
        tally.trace.emplace_back(std::chrono::duration<double, std::milli>(sent - sh.start).count(),
                                 tally.latency_ms[k].back());
    } else {
      ++tally.errors[k][status];
      if (status == 0) {  // a dead server would otherwise be spun on
        pace.expires_after(std::chrono::milliseconds(20));
        co_await pace.async_wait(kTuple);
      }
    }
  }
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

void report(const Options& o, const std::string& part, std::vector<double>& lat,
            const std::map<int, uint64_t>& errors, double seconds, double client_cpu_s) {
  std::sort(lat.begin(), lat.end());
  uint64_t n_err = 0;
  std::string by_status;
  for (const auto& [status, n] : errors) {
    n_err += n;
    by_status += (by_status.empty() ? "" : ",") + std::to_string(status) + ":" + std::to_string(n);
  }
  std::printf(
      "loadgen scenario=%s%s%s connections=%u mode=%s rate=%.0f requests=%llu ok=%zu errors=%llu "
      "error_statuses=%s seconds=%.3f throughput=%.1f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
      "max_ms=%.3f client_cpu_s=%.2f targets=%zu\n",
      o.scenario.c_str(), part.empty() ? "" : " part=", part.c_str(), o.connections,
      o.rate > 0 ? "open" : "closed", o.rate, static_cast<unsigned long long>(lat.size() + n_err),
      lat.size(), static_cast<unsigned long long>(n_err),
      by_status.empty() ? "-" : by_status.c_str(), seconds,
      seconds > 0 ? static_cast<double>(lat.size()) / seconds : 0, percentile(lat, 0.5),
      percentile(lat, 0.99), percentile(lat, 0.999), lat.empty() ? 0 : lat.back(), client_cpu_s,
      o.ports.size());
}

// Adds one target; a later --url must name the same scheme and host (one TLS name to check).
bool parseUrl(const std::string& url, Options& o) {
  size_t s = url.find("://");
  if (s == std::string::npos) return false;
  const std::string first_scheme = o.scheme, first_host = o.host;
  o.scheme = url.substr(0, s);
  std::string rest = url.substr(s + 3);
  if (size_t slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  size_t colon = rest.rfind(':');
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos) return false;
    o.host = rest.substr(1, close - 1);
    colon = rest.find(':', close);
  } else {
    o.host = rest.substr(0, colon);
  }
  o.ports.push_back(colon == std::string::npos ? (o.scheme == "https" ? "443" : "80")
                                               : rest.substr(colon + 1));
  if (!first_scheme.empty() && (o.scheme != first_scheme || o.host != first_host)) return false;
  return (o.scheme == "http" || o.scheme == "https") && !o.host.empty();
}

int usage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "loadgen: %s\n", why.c_str());
  std::fputs(kUsage, stderr);
  return 2;
}

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> urls;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) return usage("missing value for " + a);
    std::string v = argv[++i];
    try {
      if (a == "--url")
        urls.push_back(v);
      else if (a == "--ca-file")
        o.ca_file = v;
      else if (a == "--request")
        o.request_args.push_back(v);
      else if (a == "--scenario")
        o.scenario = v;
      else if (a == "--connections")
        o.connections = static_cast<unsigned>(std::stoul(v));
      else if (a == "--threads")
        o.threads = static_cast<unsigned>(std::stoul(v));
      else if (a == "--rate")
        o.rate = std::stod(v);
      else if (a == "--requests")
        o.requests = std::stoull(v);
      else if (a == "--warmup")
        o.warmup = std::stoull(v);
      else if (a == "--duration")
        o.duration_s = std::stod(v);
      else if (a == "--timeout")
        o.timeout_s = std::stod(v);
      else if (a == "--trace")
        o.trace_file = v, o.trace = true;
      else
        return usage("unknown option " + a);
    } catch (const std::exception&) {
      return usage("bad value for " + a + ": " + v);
    }
  }
  if (urls.empty()) return usage("--url is required");
  for (const auto& url : urls) {
    if (!parseUrl(url, o))
      return usage("--url must be http[s]://HOST:PORT, with one scheme and host for all");
  }
  if (o.request_args.empty()) return usage("at least one --request FILE is needed");
  if (o.connections == 0 || o.threads == 0 || o.rate < 0 || o.duration_s <= 0)
    return usage("--connections, --threads and --duration must be positive");
  o.threads = std::min(o.threads, o.connections);

  net::io_context resolve_ctx;
  tcp::resolver resolver(resolve_ctx);
  beast::error_code ec;
  std::vector<tcp::resolver::results_type> endpoints;
  std::vector<std::string> host_headers;
  const bool ipv6 = o.host.find(':') != std::string::npos;
  for (const auto& port : o.ports) {
    endpoints.push_back(resolver.resolve(o.host, port, ec));
    if (ec || endpoints.back().empty())
      return usage("cannot resolve " + o.host + ": " + ec.message());
    for (const auto& e : endpoints.back()) {
      if (!e.endpoint().address().is_loopback())
        return usage("refusing non-loopback target " + e.endpoint().address().to_string());
    }
    host_headers.push_back((ipv6 ? "[" + o.host + "]" : o.host) + ":" + port);
  }
  std::vector<RequestKind> kinds(o.request_args.size());
  for (size_t i = 0; i < kinds.size(); ++i) {
    std::string err;
    if (!loadRequest(o.request_args[i], host_headers, kinds[i], err)) return usage(err);
    if (kinds[i].weight == 0) return usage("a request weight must be at least 1");
  }

  std::optional<ssl::context> tls;
  if (o.scheme == "https") {
    tls.emplace(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    if (o.ca_file.empty())
      tls->set_default_verify_paths(ec);
    else
      tls->load_verify_file(o.ca_file, ec);
    if (ec) return usage("cannot load CA file '" + o.ca_file + "'");
    tls->set_verify_mode(ssl::verify_peer);
  }

  Shared sh{o, kinds, std::move(endpoints)};
  sh.tls = tls ? &*tls : nullptr;
  std::vector<Tally> tallies(o.connections);
  for (auto& t : tallies) {
    t.latency_ms.resize(kinds.size());
    t.errors.resize(kinds.size());
    t.latency_ms[0].reserve(static_cast<size_t>(std::min<uint64_t>(o.requests, 1 << 20)) /
                            o.connections);
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned t = 0; t < o.threads; ++t) workers.push_back(std::make_unique<Worker>());
  for (unsigned c = 0; c < o.connections; ++c) {
    Worker& w = *workers[c % o.threads];
    auto coro =
        sh.tls ? connection<beast::ssl_stream<beast::tcp_stream>>(w.ioc, w.gate, sh, tallies[c], c)
               : connection<beast::tcp_stream>(w.ioc, w.gate, sh, tallies[c], c);
    net::co_spawn(w.ioc, std::move(coro), net::detached);
  }
  for (auto& w : workers) w->thread = std::thread([&ioc = w->ioc] { ioc.run(); });

  // Every connection is open (or has failed) and warmed up; start the clock and open the gates.
  while (sh.ready.load() < o.connections) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double cpu0 = cpuSeconds();
  sh.start = Clock::now() + std::chrono::milliseconds(1);
  sh.end = sh.start +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  for (auto& w : workers) net::post(w->ioc, [&gate = w->gate] { gate.cancel(); });
  for (auto& w : workers) w->thread.join();
  double client_cpu = cpuSeconds() - cpu0;

  Clock::time_point last = sh.start;
  std::vector<std::vector<double>> lat(kinds.size());
  std::vector<std::map<int, uint64_t>> errs(kinds.size());
  for (auto& t : tallies) {
    last = std::max(last, t.last_done);
    for (size_t k = 0; k < kinds.size(); ++k) {
      lat[k].insert(lat[k].end(), t.latency_ms[k].begin(), t.latency_ms[k].end());
      for (const auto& [s, n] : t.errors[k]) errs[k][s] += n;
    }
  }
  double seconds = std::chrono::duration<double>(last - sh.start).count();
  std::vector<double> all;
  std::map<int, uint64_t> all_errs;
  for (size_t k = 0; k < kinds.size(); ++k) {
    all.insert(all.end(), lat[k].begin(), lat[k].end());
    for (const auto& [s, n] : errs[k]) all_errs[s] += n;
  }
  if (o.trace) {
    std::vector<std::pair<double, double>> points;
    for (const auto& t : tallies) points.insert(points.end(), t.trace.begin(), t.trace.end());
    std::sort(points.begin(), points.end());
    if (FILE* f = std::fopen(o.trace_file.c_str(), "w")) {
      for (const auto& [at, ms] : points) std::fprintf(f, "%.3f %.3f\n", at, ms);
      std::fclose(f);
    }
  }
  report(o, "", all, all_errs, seconds, client_cpu);
  if (kinds.size() > 1) {
    for (size_t k = 0; k < kinds.size(); ++k)
      report(o, kinds[k].name, lat[k], errs[k], seconds, client_cpu);
  }
  return all.empty() ? 1 : 0;  // nothing succeeded: let bench/run stop rather than report zeros
}
