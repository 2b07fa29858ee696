// Runs the command a credential was fetched for (jitctl exec, jitctl db): the credential lives
// exactly as long as the command, so the caller revokes it once this returns.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace jitb::jitctl {

// Runs `cmd` (looked up in PATH) with `env` added to the environment, forwards SIGINT,
// SIGTERM, SIGHUP and SIGQUIT to it, and waits for it. Returns the exit code jitctl should
// end with: the command's own, 128+N when signal N ended it, 127 when it could not be run,
// kFailure when no child could be started.
int runForwardingSignals(const std::vector<std::string>& cmd,
                         const std::vector<std::pair<std::string, std::string>>& env);

}  // namespace jitb::jitctl
