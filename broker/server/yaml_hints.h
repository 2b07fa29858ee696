// Plainer words for two YAML mistakes whose parser messages mislead: a tab in the indentation
// (yaml-cpp: "illegal map value") and a quote left open (the next lines join the value, and the
// error surfaces later, e.g. as a bad port).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jitb::server {

// "FILE:LINE: ..." for the first such mistake on lines 1..up_to (all lines when up_to is 0),
// or nullopt. Called only once parsing or checking has failed: both can be legal YAML.
std::optional<std::string> yamlHint(std::string_view text, const std::string& file, int up_to);

// The line number of a "FILE:LINE: message" error, 0 when there is none.
int errorLine(const std::string& message, const std::string& file);

}  // namespace jitb::server
