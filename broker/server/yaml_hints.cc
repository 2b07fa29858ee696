#include "broker/server/yaml_hints.h"

#include <charconv>

namespace jitb::server {

namespace {

// Where a quoted scalar may start: the line's start, or after ':', '-', '[', '{' or ','.
bool startsScalar(std::string_view line, size_t i) {
  while (i > 0 && (line[i - 1] == ' ' || line[i - 1] == '\t')) --i;
  return i == 0 || std::string_view(":-[{,").find(line[i - 1]) != std::string_view::npos;
}

// The column of a quote opened and not closed on this line, if any.
std::optional<size_t> openQuote(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) return std::nullopt;
    if ((c != '"' && c != '\'') || !startsScalar(line, i)) continue;
    size_t j = i + 1;
    for (; j < line.size(); ++j) {
      if (c == '"' && line[j] == '\\') {
        ++j;
        continue;
      }
      if (line[j] == c) {
        if (c == '\'' && j + 1 < line.size() && line[j + 1] == '\'') {
          ++j;  // '' is an escaped quote
          continue;
        }
        break;
      }
    }
    if (j >= line.size()) return i;
    i = j;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> yamlHint(std::string_view text, const std::string& file, int up_to) {
  int n = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++n;
    if (up_to > 0 && n > up_to) break;
    const std::string at = file + ":" + std::to_string(n) + ": ";
    size_t indent = line.find_first_not_of(" \t");
    if (indent != std::string_view::npos && line[indent] != '#' &&
        line.substr(0, indent).find('\t') != std::string_view::npos)
      return at + "a tab in the indentation: YAML indents with spaces only (replace the tab)";
    if (auto col = openQuote(line))
      return at + "the " + std::string(line[*col] == '"' ? "double" : "single") +
             " quote at column " + std::to_string(*col + 1) +
             " is not closed on this line: close it (the next lines were read into the value)";
    if (end == text.size()) break;
    pos = end + 1;
  }
  return std::nullopt;
}

int errorLine(const std::string& message, const std::string& file) {
  if (message.compare(0, file.size() + 1, file + ":") != 0) return 0;
  int line = 0;
  const char* b = message.data() + file.size() + 1;
  auto [p, ec] = std::from_chars(b, message.data() + message.size(), line);
  return ec == std::errc() && p != b ? line : 0;
}

}  // namespace jitb::server
