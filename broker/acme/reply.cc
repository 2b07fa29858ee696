#include "broker/acme/reply.h"

#include <boost/json.hpp>

namespace jitb::acme {

namespace json = boost::json;

Reply problemReply(const Problem& p) {
  Reply r;
  r.status = p.status;
  r.content_type = "application/problem+json";
  r.body = json::serialize(json::object{{"type", "urn:ietf:params:acme:error:" + p.type},
                                        {"detail", p.detail},
                                        {"status", p.status}});
  return r;
}

Reply jsonReply(int status, const json::object& body) {
  Reply r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

Problem problemOf(const core::Status& st) {
  if (st.code() == core::Code::kUnavailable) return {503, "serverInternal", st.message()};
  return {500, "serverInternal", st.message()};
}

}  // namespace jitb::acme
