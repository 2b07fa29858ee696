#include "clients/lib/https_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "broker/core/encoding.h"

namespace jitb::client {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string formEncode(const std::string& s) { return core::percentEncode(s); }

core::StatusOr<HttpReply> httpsRequest(const std::string& method, const std::string& url,
                                       const std::map<std::string, std::string>& headers,
                                       const std::string& body, const HttpOptions& opts) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "https")
    return core::invalidArgument("broker URL must be https://HOST[:PORT], got '" + url + "'");
  std::string host = parsed->host_address();
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  std::string port = parsed->has_port() ? std::string(parsed->port()) : "443";
  std::string target = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) target += "?" + std::string(parsed->encoded_query());

  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  if (opts.ca_file.empty()) ctx.set_default_verify_paths(ec);
  else ctx.load_verify_file(opts.ca_file, ec);
  if (ec) return core::invalidArgument("cannot load CA file '" + opts.ca_file + "'");
  if (!opts.client_cert_file.empty()) {
    ctx.use_certificate_chain_file(opts.client_cert_file, ec);
    if (!ec) ctx.use_private_key_file(opts.client_key_file, ssl::context::pem, ec);
    if (ec) return core::invalidArgument("cannot load the client certificate or key");
  }
  ctx.set_verify_mode(ssl::verify_peer);

  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  SSL* s = stream.native_handle();
  // Check the certificate against the host: an IP literal or a DNS name, never neither.
  X509_VERIFY_PARAM* param = SSL_get0_param(s);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    SSL_set_tlsext_host_name(s, host.c_str());
  }
  auto unreachable = [&](const std::string& what) {
    return core::unavailable("cannot reach " + url + ": " + what);
  };
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) return unreachable(ec.message());
  beast::get_lowest_layer(stream).expires_after(opts.timeout);
  beast::get_lowest_layer(stream).connect(endpoints, ec);
  if (ec) return unreachable(ec.message());
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return unreachable("TLS handshake failed (" + ec.message() + ")");

  bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::user_agent, "jitctl");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req, ec);
  if (ec) return unreachable(ec.message());
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  bhttp::read(stream, buf, parser, ec);
  if (ec) return unreachable(ec.message());
  HttpReply reply;
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = std::move(parser.get().body());
  for (const auto& f : parser.get()) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(f.value());
  }
  stream.shutdown(ec);  // best effort; the answer is already complete
  return reply;
}

}  // namespace jitb::client
