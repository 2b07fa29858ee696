#include "clients/jitctl/subject_token.h"

#include <boost/json.hpp>
#include <cstdlib>

#include "broker/core/files.h"
#include "clients/lib/https_client.h"

namespace jitb::jitctl {

namespace {

constexpr const char* kK8sTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";

std::string env(const char* n) {
  const char* v = std::getenv(n);
  return v ? v : "";
}

// GitHub Actions: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=A with the request token as
// bearer; the answer is {"value": "<jwt>"}.
core::StatusOr<std::string> githubToken(const std::string& url, const std::string& bearer,
                                        const std::string& audience) {
  std::string full = url + (url.find('?') == std::string::npos ? "?" : "&") +
                     "audience=" + client::formEncode(audience);
  auto r = client::httpsRequest("GET", full, {{"Authorization", "Bearer " + bearer}}, "", {});
  if (!r.ok()) return r.status();
  if (r->status != 200)
    return core::unavailable("GitHub's OIDC endpoint answered HTTP " + std::to_string(r->status));
  boost::json::error_code ec;
  auto v = boost::json::parse(r->body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("value") || !v.at("value").is_string())
    return core::unavailable("GitHub's OIDC endpoint gave no token");
  return std::string(v.at("value").as_string());
}

}  // namespace

core::StatusOr<std::string> findSubjectToken(const client::Args& a) {
  if (a.has("--subject-token-file")) {
    auto t = core::readTrimmedFile(a.get("--subject-token-file"));
    if (!t.ok())
      return core::invalidArgument("cannot read a token from " + a.get("--subject-token-file"));
    return *t;
  }
  if (std::string t = env("JITBROKER_SUBJECT_TOKEN"); !t.empty()) return t;
  if (std::string url = env("ACTIONS_ID_TOKEN_REQUEST_URL"); !url.empty()) {
    std::string bearer = env("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    if (bearer.empty())
      return core::invalidArgument(
          "ACTIONS_ID_TOKEN_REQUEST_TOKEN is empty: does the workflow grant `id-token: write`?");
    return githubToken(url, bearer, a.get("--subject-audience", "jitbroker"));
  }
  if (std::string t = env(a.get("--subject-token-env", "JITBROKER_ID_TOKEN").c_str()); !t.empty())
    return t;
  if (auto t = core::readTrimmedFile(kK8sTokenFile); t.ok()) return *t;
  return core::invalidArgument(
      "no subject token: pass --subject-token-file, set JITBROKER_SUBJECT_TOKEN, or run inside "
      "GitHub Actions, GitLab CI (id_tokens) or Kubernetes");
}

}  // namespace jitb::jitctl
