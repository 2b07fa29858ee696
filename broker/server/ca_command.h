// `jitbroker ca ...`: offline operations on the CA folder (data_dir/ca). Separate from serving:
// they read and move files, start no listener and need no running broker.
#pragma once

#include <string>
#include <vector>

namespace jitb::server {

// `args` are the words after "ca". Returns the process exit code: 0 done, 1 refused or failed,
// 2 usage error.
int runCaCommand(const std::vector<std::string>& args);

}  // namespace jitb::server
