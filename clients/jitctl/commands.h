// jitctl's subcommands. Each takes its arguments after the command words and returns an exit
// code (context.h).
#pragma once

#include <string>
#include <vector>

namespace jitb::jitctl {

using Argv = std::vector<std::string>;

int cmdAuditVerify(const Argv& args);
int cmdDevTicket(const Argv& args);
int cmdLeases(const Argv& args);
int cmdRevoke(const Argv& args);
int cmdTicketsShow(const Argv& args);
int cmdToken(const Argv& args);
int cmdPolicy(const Argv& args);
int cmdCert(const Argv& args);
int cmdDevSubjectToken(const Argv& args);

}  // namespace jitb::jitctl
