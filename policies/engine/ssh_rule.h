// Checks on what a grant's `ssh:` section may put into a certificate: sshd rejects a
// certificate with an unknown critical option, and treats a malformed source-address as a
// refusal, so the policy parser refuses both up front rather than issuing dead certificates.
#pragma once

#include <string_view>

namespace jitb::policies {

// permit-pty, permit-X11-forwarding, permit-agent-forwarding, permit-port-forwarding,
// permit-user-rc, or a vendor extension "name@domain".
bool isSshExtension(std::string_view name);

// "10.0.0.0/8,192.168.1.7,2001:db8::/32": addresses or CIDRs, comma-separated, no spaces.
bool isCidrList(std::string_view list);

}  // namespace jitb::policies
