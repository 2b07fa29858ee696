// The version both binaries print for --version: the CMake project version, and the git
// commit the build was configured from when git could tell (empty otherwise).
#pragma once

#include <string>

namespace jitb::core {

const char* projectVersion();  // "0.1.0"
const char* gitCommit();       // "975fea8c1d2e" or ""
// "NAME 0.1.0 (commit 975fea8c1d2e)"
std::string versionLine(const std::string& name);

}  // namespace jitb::core
