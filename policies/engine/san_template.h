// Certificate SAN templates such as "spiffe://acme.internal/ci/{claims.repository}". The
// template is fixed by the policy author; the substituted values come from the caller's token,
// so they are held to a strict character class: a value must never be able to add a path
// segment like "..", change the host, or smuggle a second name.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jitb::policies {

// What a template may draw on at evaluation time. Only verified data belongs here.
struct SanContext {
  const boost::json::object* claims = nullptr;  // the caller's verified JWT claims
  std::string_view subject;                     // the caller's verified sub
  std::string_view ticket;                      // the ticket id
};

class SanTemplate {
 public:
  // kPrincipal: an SSH certificate principal (a login name): no spaces or commas, and a
  // substituted value may hold '@' (an e-mail address) besides [A-Za-z0-9._-].
  enum class Kind { kUri, kDns, kPrincipal };

  // Accepts literal text plus {claims.NAME}, {subject} and {ticket} (also written {ticket.id});
  // anything else in braces is refused. In a DNS template each placeholder's value must be one DNS label, unless it is
  // written with the ':dotted' suffix ({claims.NAME:dotted}), which lets it span several;
  // URI templates refuse the suffix. Literal characters that have no place in a URI or DNS
  // name are refused too.
  // On failure returns nullopt and sets *error to a sentence naming the problem.
  static std::optional<SanTemplate> parse(std::string_view text, Kind kind, std::string* error);

  // The value with every placeholder replaced. On failure returns nullopt and sets *error
  // (e.g. "claim 'service' is missing"); the caller turns that into a san.substitution denial.
  std::optional<std::string> expand(const SanContext& ctx, std::string* error) const;

  const std::string& text() const { return text_; }
  Kind kind() const { return kind_; }
  // The template with each placeholder replaced by a harmless stand-in: used at parse time to
  // check the shape (DNS syntax, SPIFFE ID syntax) of everything the author wrote.
  std::string sample() const;

 private:
  enum class Source { kLiteral, kClaim, kSubject, kTicket };
  struct Part {
    Source source = Source::kLiteral;
    std::string text;          // literal text, or the claim name
    bool in_path = false;      // URI only: the value lands in the path, so '/' may appear in it
    bool multi_label = false;  // DNS only: written {...:dotted}, so '.' may appear in it
  };

  SanTemplate(std::string text, Kind kind) : text_(std::move(text)), kind_(kind) {}

  std::string text_;
  Kind kind_;
  std::vector<Part> parts_;
};

// DNS host name: lowercase letters, digits, '-' and '.', labels 1-63, total at most 253.
bool isValidDnsName(std::string_view name);
// spiffe://trust-domain/path with a non-empty path of non-empty segments, none "." or "..".
bool isValidSpiffeId(std::string_view uri);

}  // namespace jitb::policies
