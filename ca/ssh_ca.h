// The broker's SSH certificate authority: one key (Ed25519 by default, or RSA 3072 signing
// rsa-sha2-512) behind the same PrivateKey handle as the X.509 keys, and the OpenSSH user
// certificates it signs (PROTOCOL.certkeys). Const methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ca/key.h"
#include "ca/result.h"
#include "ca/ssh_key.h"

namespace jitb::ca {

struct SshUserCertRequest {
  SshPublicKey key;
  uint64_t serial = 0;
  std::string key_id;
  std::vector<std::string> principals;  // never empty: an empty list means "any user"
  std::chrono::system_clock::time_point valid_before;
  // name -> value ("force-command" -> "/usr/bin/id"); written sorted, names unique.
  std::vector<std::pair<std::string, std::string>> critical_options;
  std::vector<std::string> extensions;  // flag extensions ("permit-pty"); written sorted
};

struct SshCertificate {
  std::string line;  // "<type>-cert-v01@openssh.com <base64> <key id>"
  std::string blob;  // the signed certificate, wire form
  std::chrono::system_clock::time_point valid_after, valid_before;
};

class SshCa {
 public:
  // Reads `key_file`, or creates it (0600) with a new key of `algorithm` (kEd25519 or
  // kRsa3072) when it does not exist yet.
  static Result<SshCa> loadOrCreate(const std::string& key_file, KeyAlgorithm algorithm);
  // For a key already in hand (tests, a key kept in the store).
  static Result<SshCa> fromKey(PrivateKey key);

  // The CA's public key: wire blob, and "ssh-ed25519 AAAA... jitbroker-ssh-ca" for sshd's
  // TrustedUserCAKeys.
  const std::string& publicKeyBlob() const { return public_blob_; }
  std::string publicKeyLine() const;

  // Signs a user certificate valid from now - backdate (clocks of hosts disagree a little) to
  // req.valid_before. Refuses empty principals, a validity that ends before it starts, and
  // duplicate option or extension names.
  Result<SshCertificate> signUser(const SshUserCertRequest& req,
                                  std::chrono::system_clock::time_point now,
                                  std::chrono::seconds backdate = std::chrono::seconds(60)) const;

 private:
  SshCa(PrivateKey key, std::string blob, std::string type, std::shared_ptr<EVP_MD_CTX> tmpl)
      : key_(std::move(key)),
        public_blob_(std::move(blob)),
        type_(std::move(type)),
        sign_template_(std::move(tmpl)) {}
  Result<std::string> sign(std::string_view data) const;

  PrivateKey key_;
  std::string public_blob_;
  std::string type_;  // "ssh-ed25519" or "ssh-rsa"
  // Initialised once and copied per signature: initialising fetches the algorithm, which
  // takes a process-wide lock in OpenSSL 3 (as for the X.509 CA, ca/authority.cc).
  std::shared_ptr<EVP_MD_CTX> sign_template_;
};

}  // namespace jitb::ca
