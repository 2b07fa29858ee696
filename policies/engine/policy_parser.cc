// YAML -> Grant. yaml-cpp throws on syntax errors (and, in principle, on any access), so the
// whole walk runs inside one try block and every failure becomes a PolicyError with a 1-based
// line and the dotted key path, first error wins.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <sstream>
#include <string_view>
#include <vector>

#include "policies/engine/duration.h"
#include "policies/engine/edit_distance.h"
#include "policies/engine/policy_set.h"
#include "policies/engine/ssh_rule.h"

namespace jitb::policies {

namespace {

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr std::chrono::seconds kBreakGlassMaxTtl{3600};

bool isGrantName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// RFC 6749 §3.3 scope-token: printable ASCII except space, '"' and '\'.
bool isScopeToken(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

bool isPrintableNoSpace(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// An absent node (a lookup of a missing key) throws on Mark(), so it has no line.
int lineOf(const YAML::Node& n) {
  if (!n) return 0;
  const YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

// Where to point for a problem with map[key]'s value. An empty value (`issuer:`) is a null
// node whose mark is wherever the next token starts, often the next line; the key is the
// place the author needs to look at then.
YAML::Node blame(const YAML::Node& map, const char* key) {
  const YAML::Node v = map[key];
  if (!v || !v.IsNull()) return v;
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->first;
  return v;
}

// A quoted scalar ("1", 'true') is a string: refusing it where a number or boolean is expected
// keeps `min_approvals: "0"` from meaning something the author did not see.
bool isPlainScalar(const YAML::Node& n) { return n.IsScalar() && n.Tag() != "!"; }

}  // namespace

namespace {

// Counts documents without building them. YAML::LoadAll is not used: on some malformed input
// yaml-cpp 0.7 keeps reporting new empty documents forever (found by the fuzzer), so the
// loop here stops at the second document, which is already an error.
class DocumentCounter : public YAML::EventHandler {
 public:
  int starts = 0;
  int second_line = 0;
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++starts == 2) second_line = mark.is_null() ? 1 : mark.line + 1;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// 0 when `text` holds at most one YAML document, else the line where the second one starts.
// Throws YAML::Exception on syntax errors, like YAML::Load.
int secondDocumentLine(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
  }
  return counter.starts >= 2 ? counter.second_line : 0;
}

}  // namespace

class PolicyParser {
 public:
  explicit PolicyParser(std::string file) : file_(std::move(file)) {}

  Parsed<PolicySet> run(std::string_view yaml) {
    if (yaml.size() > kMaxFileBytes)
      return PolicyError{file_, 0, "", "policy file is larger than 1 MiB"};
    PolicySet set;
    try {
      const std::string text(yaml);
      if (int second = secondDocumentLine(text); second > 0) {
        err_ = PolicyError{file_, second, "", "a policy file holds one YAML document, found more"};
      } else {
        const YAML::Node root = YAML::Load(text);
        if (!root || root.IsNull())
          err_ =
              PolicyError{file_, 1, "grants", "the policy file is empty: it needs a 'grants' list"};
        else
          parseRoot(root, set);
      }
    } catch (const YAML::Exception& e) {
      err_ = PolicyError{file_, e.mark.is_null() ? 0 : e.mark.line + 1, "",
                         "YAML syntax error: " + e.msg};
    } catch (const std::exception& e) {
      err_ = PolicyError{file_, 0, "", std::string("cannot read the policy file: ") + e.what()};
    }
    if (err_) return *err_;
    set.files_.push_back(file_);
    return set;
  }

 private:
  bool failed() const { return err_.has_value(); }

  bool fail(const YAML::Node& at, const std::string& key, const std::string& msg) {
    if (!err_) err_ = PolicyError{file_, lineOf(at), key, msg};
    return false;
  }

  // Every key of `map` must be one of `allowed`, and appear once: yaml-cpp keeps both copies
  // of a repeated key and lookups see only the first, which would hide the author's intent.
  bool keys(const YAML::Node& map, const std::string& where,
            std::initializer_list<std::string_view> allowed) {
    const std::string scope = where.empty() ? "(top level)" : where;
    if (!map.IsMap())
      return fail(map, where,
                  where.empty() ? "a policy file must be a mapping with a 'grants' list"
                                : "'" + where + "' must be a mapping");
    std::vector<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar())
        return fail(it->first, where, "keys in '" + scope + "' must be names");
      std::string k = it->first.Scalar();
      std::string path = where.empty() ? k : where + "." + k;
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        std::string msg = "unknown key '" + k + "' in '" + scope + "'";
        for (auto a : allowed)
          if (editDistance(k, a) <= 2) {
            msg += " (did you mean '" + std::string(a) + "'?)";
            break;
          }
        return fail(it->first, path, msg);
      }
      if (std::find(seen.begin(), seen.end(), k) != seen.end())
        return fail(it->first, path, "duplicate key '" + k + "' in '" + scope + "'");
      seen.push_back(k);
    }
    return true;
  }

  bool str(const YAML::Node& map, const char* key, const std::string& path, std::string& out) {
    const YAML::Node n = map[key];
    if (!n) return true;
    if (!n.IsScalar()) return fail(blame(map, key), path, "'" + path + "' must be a string");
    out = n.Scalar();
    return true;
  }

  bool boolean(const YAML::Node& map, const char* key, const std::string& path, bool& out) {
    const YAML::Node n = map[key];
    if (!n) return true;
    if (!isPlainScalar(n) || (n.Scalar() != "true" && n.Scalar() != "false"))
      return fail(blame(map, key), path, "'" + path + "' must be true or false");
    out = n.Scalar() == "true";
    return true;
  }

  bool integer(const YAML::Node& map, const char* key, const std::string& path, int& out, int min,
               int max) {
    const YAML::Node n = map[key];
    if (!n) return true;
    int v = 0;
    const std::string s = n.IsScalar() ? n.Scalar() : std::string();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!isPlainScalar(n) || s.empty() || ec != std::errc() || p != s.data() + s.size())
      return fail(blame(map, key), path, "'" + path + "' must be an integer");
    if (v < min || v > max)
      return fail(
          blame(map, key), path,
          "'" + path + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
    out = v;
    return true;
  }

  bool duration(const YAML::Node& map, const char* key, const std::string& path,
                std::chrono::seconds& out) {
    const YAML::Node n = map[key];
    if (!n) return true;
    auto d = n.IsScalar() ? parseDuration(n.Scalar()) : std::nullopt;
    if (!d)
      return fail(blame(map, key), path,
                  "'" + path + "' must be a duration such as 30s, 15m or 1h");
    if (d->count() % 1000 != 0 || d->count() == 0)
      return fail(blame(map, key), path,
                  "'" + path + "' must be a whole number of seconds, at least 1s");
    out = std::chrono::duration_cast<std::chrono::seconds>(*d);
    return true;
  }

  // A list of strings; `n` absent leaves `out` alone.
  bool strList(const YAML::Node& map, const char* key, const std::string& path,
               std::vector<std::string>& out, std::vector<YAML::Node>* nodes = nullptr) {
    const YAML::Node n = map[key];
    if (!n) return true;
    if (!n.IsSequence())
      return fail(blame(map, key), path, "'" + path + "' must be a list of strings");
    out.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node e = n[i];
      std::string p = path + "[" + std::to_string(i) + "]";
      if (!e.IsScalar()) return fail(e, p, "'" + p + "' must be a string");
      out.push_back(e.Scalar());
      if (nodes) nodes->push_back(e);
    }
    return true;
  }

  void parseRoot(const YAML::Node& root, PolicySet& set) {
    if (!keys(root, "", {"grants"})) return;
    const YAML::Node list = root["grants"];
    if (!list) {
      fail(root, "grants", "the policy file needs a 'grants' list");
      return;
    }
    if (!list.IsSequence()) {
      fail(list, "grants", "'grants' must be a list");
      return;
    }
    for (size_t i = 0; i < list.size() && !failed(); ++i) {
      Grant g;
      if (!parseGrant(list[i], "grants[" + std::to_string(i) + "]", g)) return;
      if (const Grant* first = set.find(g.name)) {
        fail(list[i]["name"], "grants[" + std::to_string(i) + "].name",
             "duplicate grant name '" + g.name + "' (first defined at " + first->file + ":" +
                 std::to_string(first->line) + ")");
        return;
      }
      set.by_name_.emplace(g.name, set.grants_.size());
      set.grants_.push_back(std::move(g));
    }
  }

  bool parseGrant(const YAML::Node& n, const std::string& where, Grant& g) {
    if (!keys(n, where,
              {"name", "subjects", "tickets", "break_glass", "token", "certificate", "ssh",
               "database"}))
      return false;
    g.file = file_;
    g.line = lineOf(n);
    if (!n["name"]) return fail(n, where + ".name", "'" + where + "' needs a 'name'");
    if (!str(n, "name", where + ".name", g.name)) return false;
    if (!isGrantName(g.name))
      return fail(n["name"], where + ".name",
                  "'" + where + ".name' must be 1-64 of a-z, 0-9, '_' and '-'");
    if (!boolean(n, "break_glass", where + ".break_glass", g.break_glass)) return false;
    if (const YAML::Node s = n["subjects"]; s && !parseSubjects(s, where + ".subjects", g))
      return false;
    if (!parseTickets(n["tickets"], n, where + ".tickets", g)) return false;
    if (const YAML::Node t = n["token"]; t && !parseToken(t, where + ".token", g)) return false;
    if (const YAML::Node c = n["certificate"]; c && !parseCert(c, where + ".certificate", g))
      return false;
    if (const YAML::Node s = n["ssh"]; s && !parseSsh(s, where + ".ssh", g)) return false;
    if (const YAML::Node d = n["database"]; d && !parseDatabase(d, where + ".database", g))
      return false;
    if (!g.token && !g.certificate && !g.ssh && !g.database)
      return fail(n, where,
                  "grant '" + g.name +
                      "' needs a 'token', 'certificate', 'ssh' or 'database' section");
    return true;
  }

  bool parseSubjects(const YAML::Node& n, const std::string& where, Grant& g) {
    if (!keys(n, where, {"issuer", "claims"})) return false;
    // One issuer or a list of them.
    if (const YAML::Node i = n["issuer"]; i && i.IsSequence()) {
      if (!strList(n, "issuer", where + ".issuer", g.issuers)) return false;
      if (g.issuers.empty()) return fail(i, where + ".issuer", "'" + where + ".issuer' must not be empty");
    } else {
      std::string one;
      if (!str(n, "issuer", where + ".issuer", one)) return false;
      if (i && one.empty()) return fail(blame(n, "issuer"), where + ".issuer", "'" + where + ".issuer' must not be empty");
      if (!one.empty()) g.issuers.push_back(std::move(one));
    }
    const YAML::Node claims = n["claims"];
    if (!claims) return true;
    std::string cw = where + ".claims";
    if (!claims.IsMap()) return fail(claims, cw, "'" + cw + "' must be a mapping of claim: glob");
    for (auto it = claims.begin(); it != claims.end(); ++it) {
      if (!it->first.IsScalar() || it->first.Scalar().empty())
        return fail(it->first, cw, "claim names in '" + cw + "' must be non-empty strings");
      std::string name = it->first.Scalar();
      std::string p = cw + "." + name;
      if (!it->second.IsScalar()) return fail(it->second, p, "'" + p + "' must be a glob string");
      for (const auto& [seen, glob] : g.claim_globs)
        if (seen == name) return fail(it->first, p, "duplicate key '" + name + "' in '" + cw + "'");
      g.claim_globs.emplace_back(name, it->second.Scalar());
    }
    return true;
  }

  // Called even when the section is absent so the break-glass defaults are applied in one place.
  bool parseTickets(const YAML::Node& n, const YAML::Node& grant, const std::string& where,
                    Grant& g) {
    std::vector<YAML::Node> kind_nodes;
    bool listed = false;
    if (n) {
      if (!keys(n, where, {"kinds", "min_approvals", "separation_of_duties"})) return false;
      listed = static_cast<bool>(n["kinds"]);
      if (!strList(n, "kinds", where + ".kinds", g.kinds, &kind_nodes)) return false;
      if (!integer(n, "min_approvals", where + ".min_approvals", g.min_approvals, 0, 100))
        return false;
      if (!boolean(n, "separation_of_duties", where + ".separation_of_duties",
                   g.separation_of_duties))
        return false;
    }
    if (listed && g.kinds.empty())
      return fail(n["kinds"], where + ".kinds",
                  "'" + where + ".kinds' must list at least one kind");
    for (size_t i = 0; i < g.kinds.size(); ++i) {
      const std::string& k = g.kinds[i];
      std::string p = where + ".kinds[" + std::to_string(i) + "]";
      if (k != "standard" && k != "normal" && k != "emergency")
        return fail(kind_nodes[i], p,
                    "'" + p + "' must be standard, normal or emergency, not '" + k + "'");
      if (k == "emergency" && !g.break_glass)
        return fail(kind_nodes[i], p,
                    "'" + p +
                        "': emergency tickets are only accepted by a grant with "
                        "'break_glass: true'");
      if (std::find(g.kinds.begin(), g.kinds.begin() + i, k) != g.kinds.begin() + i)
        return fail(kind_nodes[i], p, "'" + p + "' repeats '" + k + "'");
    }
    if (!listed && !g.break_glass) g.kinds = {"standard", "normal"};
    // A break-glass grant exists to take emergency tickets: it always does, plus what is listed.
    if (g.break_glass && std::find(g.kinds.begin(), g.kinds.end(), "emergency") == g.kinds.end())
      g.kinds.push_back("emergency");
    if (g.min_approvals == 0 && !g.break_glass)
      return fail(
          n ? n["min_approvals"] : grant, where + ".min_approvals",
          "'" + where + ".min_approvals' may be 0 only on a grant with 'break_glass: true'");
    return true;
  }

  bool parseToken(const YAML::Node& n, const std::string& where, Grant& g) {
    if (!keys(n, where, {"audience", "scopes", "max_ttl"})) return false;
    TokenRule t;
    if (!n["audience"]) return fail(n, where + ".audience", "'" + where + "' needs an 'audience'");
    if (!str(n, "audience", where + ".audience", t.audience)) return false;
    if (t.audience.empty() || t.audience.size() > 256 || !isPrintableNoSpace(t.audience))
      return fail(n["audience"], where + ".audience",
                  "'" + where + ".audience' must be a non-empty string without spaces");
    std::vector<YAML::Node> scope_nodes;
    if (!strList(n, "scopes", where + ".scopes", t.scopes, &scope_nodes)) return false;
    for (size_t i = 0; i < t.scopes.size(); ++i) {
      std::string p = where + ".scopes[" + std::to_string(i) + "]";
      if (!isScopeToken(t.scopes[i]))
        return fail(scope_nodes[i], p, "'" + p + "' must be a scope without spaces or quotes");
      if (std::find(t.scopes.begin(), t.scopes.begin() + i, t.scopes[i]) != t.scopes.begin() + i)
        return fail(scope_nodes[i], p, "'" + p + "' repeats '" + t.scopes[i] + "'");
    }
    if (!duration(n, "max_ttl", where + ".max_ttl", t.max_ttl)) return false;
    if (!breakGlassTtl(n, where, g, t.max_ttl)) return false;
    g.token = std::move(t);
    return true;
  }

  bool parseDatabase(const YAML::Node& n, const std::string& where, Grant& g) {
    if (!keys(n, where, {"name", "roles", "max_ttl"})) return false;
    DatabaseRule d;
    if (!n["name"]) return fail(n, where + ".name", "'" + where + "' needs a 'name'");
    if (!str(n, "name", where + ".name", d.name)) return false;
    if (d.name.empty()) return fail(n["name"], where + ".name", "'" + where + ".name' must not be empty");
    if (!strList(n, "roles", where + ".roles", d.roles)) return false;
    if (d.roles.empty())
      return fail(n["roles"] ? n["roles"] : n, where + ".roles",
                  "'" + where + ".roles' must name at least one existing group role");
    for (const auto& r : d.roles)
      if (r.empty() || r.size() > 63)
        return fail(n["roles"], where + ".roles", "'" + where + ".roles' holds an invalid role name");
    if (!duration(n, "max_ttl", where + ".max_ttl", d.max_ttl)) return false;
    if (!breakGlassTtl(n, where, g, d.max_ttl)) return false;
    g.database = std::move(d);
    return true;
  }

  bool parseCert(const YAML::Node& n, const std::string& where, Grant& g) {
    if (!keys(n, where, {"profile", "uri_sans", "dns_sans", "max_ttl"})) return false;
    CertRule c;
    std::string profile;
    if (!n["profile"]) return fail(n, where + ".profile", "'" + where + "' needs a 'profile'");
    if (!str(n, "profile", where + ".profile", profile)) return false;
    if (profile == "client")
      c.profile = CertProfile::kClient;
    else if (profile == "server")
      c.profile = CertProfile::kServer;
    else if (profile == "spiffe")
      c.profile = CertProfile::kSpiffe;
    else
      return fail(
          n["profile"], where + ".profile",
          "'" + where + ".profile' must be client, server or spiffe, not '" + profile + "'");
    if (!sans(n, "uri_sans", where, SanTemplate::Kind::kUri, c.uri_sans)) return false;
    if (!sans(n, "dns_sans", where, SanTemplate::Kind::kDns, c.dns_sans)) return false;
    if (c.profile == CertProfile::kSpiffe) {
      if (c.uri_sans.size() != 1)
        return fail(
            n["uri_sans"] ? n["uri_sans"] : n, where + ".uri_sans",
            "'" + where + ".uri_sans' must hold exactly one spiffe:// URI for profile spiffe");
      if (!isValidSpiffeId(c.uri_sans[0].sample()))
        return fail(n["uri_sans"][0], where + ".uri_sans[0]",
                    "'" + where + ".uri_sans[0]' must be a SPIFFE ID: spiffe://trust-domain/path");
    }
    if (c.profile == CertProfile::kServer && c.uri_sans.empty() && c.dns_sans.empty())
      return fail(n, where + ".dns_sans",
                  "'" + where + "' with profile server needs at least one of dns_sans or uri_sans");
    if (!duration(n, "max_ttl", where + ".max_ttl", c.max_ttl)) return false;
    if (!breakGlassTtl(n, where, g, c.max_ttl)) return false;
    g.certificate = std::move(c);
    return true;
  }

  bool parseSsh(const YAML::Node& n, const std::string& where, Grant& g) {
    if (!keys(n, where,
              {"principals", "max_ttl", "extensions", "force_command", "source_address"}))
      return false;
    SshRule r;
    if (!n["principals"])
      return fail(n, where + ".principals", "'" + where + ".principals' is required");
    if (!sans(n, "principals", where, SanTemplate::Kind::kPrincipal, r.principals)) return false;
    if (r.principals.empty())
      return fail(n["principals"], where + ".principals",
                  "'" + where + ".principals' must not be empty (it would admit any user)");
    if (n["extensions"]) {
      r.extensions.clear();
      std::vector<YAML::Node> nodes;
      if (!strList(n, "extensions", where + ".extensions", r.extensions, &nodes)) return false;
      for (size_t i = 0; i < r.extensions.size(); ++i)
        if (!isSshExtension(r.extensions[i]) ||
            std::count(r.extensions.begin(), r.extensions.end(), r.extensions[i]) > 1)
          return fail(nodes[i], where + ".extensions",
                      "'" + where + ".extensions' holds '" + r.extensions[i] +
                          "': not one of permit-pty, permit-X11-forwarding, "
                          "permit-agent-forwarding, permit-port-forwarding, permit-user-rc, or "
                          "a name@domain, or listed twice");
    }
    if (!str(n, "force_command", where + ".force_command", r.force_command)) return false;
    if (r.force_command.size() > 1024 ||
        r.force_command.find_first_of(std::string("\n\r\0", 3)) != std::string::npos)
      return fail(n["force_command"], where + ".force_command",
                  "'" + where + ".force_command' must be one line of at most 1024 characters");
    if (!str(n, "source_address", where + ".source_address", r.source_address)) return false;
    if (!r.source_address.empty() && !isCidrList(r.source_address))
      return fail(n["source_address"], where + ".source_address",
                  "'" + where + ".source_address' must be comma-separated addresses or CIDRs");
    if (!duration(n, "max_ttl", where + ".max_ttl", r.max_ttl)) return false;
    if (!breakGlassTtl(n, where, g, r.max_ttl)) return false;
    g.ssh = std::move(r);
    return true;
  }

  bool sans(const YAML::Node& n, const char* key, const std::string& where, SanTemplate::Kind kind,
            std::vector<SanTemplate>& out) {
    std::vector<std::string> texts;
    std::vector<YAML::Node> nodes;
    std::string path = where + "." + key;
    if (!strList(n, key, path, texts, &nodes)) return false;
    if (texts.size() > 16) return fail(n[key], path, "'" + path + "' may hold at most 16 names");
    for (size_t i = 0; i < texts.size(); ++i) {
      std::string p = path + "[" + std::to_string(i) + "]";
      std::string why;
      auto t = SanTemplate::parse(texts[i], kind, &why);
      if (!t) return fail(nodes[i], p, "'" + p + "' " + why);
      if (kind == SanTemplate::Kind::kPrincipal) {
        out.push_back(std::move(*t));
        continue;
      }
      if (kind == SanTemplate::Kind::kDns && !isValidDnsName(t->sample()))
        return fail(nodes[i], p, "'" + p + "' is not a valid lowercase DNS name");
      out.push_back(std::move(*t));
    }
    return true;
  }

  // Break-glass credentials bypass the usual approvals, so they must be short-lived; a
  // defaulted max_ttl counts as much as a written one.
  bool breakGlassTtl(const YAML::Node& n, const std::string& where, const Grant& g,
                     std::chrono::seconds ttl) {
    if (!g.break_glass || ttl <= kBreakGlassMaxTtl) return true;
    return fail(n["max_ttl"] ? n["max_ttl"] : n, where + ".max_ttl",
                "'" + where +
                    ".max_ttl' must be at most 1h on a grant with 'break_glass: true' (is " +
                    formatSeconds(ttl) + ")");
  }

  std::string file_;
  std::optional<PolicyError> err_;
};

Parsed<PolicySet> PolicySet::parseFile(std::string_view yaml, const std::string& file_name) {
  return PolicyParser(file_name).run(yaml);
}

}  // namespace jitb::policies
