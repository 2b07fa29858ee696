// Internal to broker/acme: a request whose JWS passed AcmeService::verify, and the JSON
// helpers the service's files share.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "broker/acme/service.h"

namespace jitb::acme {

struct AcmeService::Signed {
  jose::FlattenedJws jws;
  boost::json::object payload;  // empty for a POST-as-GET
  bool post_as_get = false;
  boost::json::object jwk;  // the signing key: the header's, or the kid account's
  std::optional<store::AcmeRow> account;
  boost::json::object account_body;
};

namespace detail {

// The stored body of a row (always an object; a damaged one reads as empty).
boost::json::object bodyOf(const store::AcmeRow& row);
std::string str(const boost::json::object& o, std::string_view key);
std::string newId(std::string_view prefix);
std::string rfc3339(int64_t ms);
// The last path segment after `prefix`, e.g. ("/order/abc", "/order/") -> "abc".
std::optional<std::string> idAfter(const std::string& path, std::string_view prefix,
                                   std::string_view suffix = {});

}  // namespace detail
}  // namespace jitb::acme
