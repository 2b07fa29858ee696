// Offline operations on the CA folder (data_dir/ca) for `jitbroker ca`: what it holds, and
// taking the root key out of it. The running broker needs only the intermediate to issue and
// to sign CRLs and OCSP answers; the root key is needed again only to sign a new intermediate.
#pragma once

#include <chrono>
#include <string>

#include "ca/result.h"

namespace jitb::ca {

struct CaFolderStatus {
  bool root_cert = false, root_key = false, intermediate_cert = false, intermediate_key = false;
  std::string root_subject, intermediate_subject;  // "CN=..." when the certificate is there
  std::chrono::system_clock::time_point root_not_after{}, intermediate_not_after{};
};

// Reads root.{crt,key} and intermediate.{crt,key} presence and the certificates' names and
// expiry. Never reads key bytes. NotFound when `dir` is not a folder.
Result<CaFolderStatus> inspectCaFolder(const std::string& dir);

// Copies dir/root.key to `out_file` (created 0600, never overwritten), fsyncs the copy and its
// folder, checks it reads back identical, and only then removes dir/root.key. Refuses unless
// the folder holds a complete CA whose intermediate was signed by this root (so the broker
// keeps running on the intermediate alone), and refuses an `out_file` inside `dir`.
Result<bool> moveRootKeyOffline(const std::string& dir, const std::string& out_file);

struct RenewedIntermediate {
  std::string subject;  // "CN=..."
  std::chrono::system_clock::time_point not_after;
  std::string replaced;  // the suffix the old pair now has: ".replaced-<unix seconds>"
};

// Signs a new intermediate (a new key of the current one's algorithm, the same name, valid 5
// years) with the root key in `root_key_file`, which must match dir/root.crt. The new pair is
// written and synced beside the old one (0600), the old pair is renamed to
// intermediate.{crt,key}.replaced-<unix seconds>, and the new pair takes its place. A running
// broker goes on with the old intermediate until it restarts.
Result<RenewedIntermediate> renewIntermediate(const std::string& dir,
                                              const std::string& root_key_file,
                                              std::chrono::system_clock::time_point now);

}  // namespace jitb::ca
