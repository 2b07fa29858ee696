// OpenSSH public keys as users hand them in ("ssh-ed25519 AAAA... comment"). Only the kinds a
// broker certificate may carry are accepted: ssh-ed25519, ecdsa-sha2-nistp256 (a point on the
// curve) and ssh-rsa of 3072 bits or more. Anything else is an error that names the problem.
#pragma once

#include <string>
#include <string_view>

#include "ca/result.h"

namespace jitb::ca {

struct SshPublicKey {
  std::string type;  // "ssh-ed25519", "ecdsa-sha2-nistp256" or "ssh-rsa"
  std::string blob;  // the wire encoding: string type, then the key's fields
  int bits = 0;      // 256 for Ed25519 and P-256, the modulus size for RSA
  // The certificate type this key makes: "<type>-cert-v01@openssh.com".
  std::string certType() const { return type + "-cert-v01@openssh.com"; }
  // The blob's fields after the type string: what a certificate carries after its nonce.
  std::string_view fields() const;
};

// Parses one authorized_keys-style line: type, base64 blob, optional comment. The line's type
// must equal the blob's. Never reads past the input; at most 16 KiB.
Result<SshPublicKey> parseSshPublicKey(std::string_view line);

// Parses a wire blob (string type, fields), with the same rules.
Result<SshPublicKey> parseSshPublicKeyBlob(std::string_view blob);

// Base64 without line breaks, as OpenSSH writes blobs.
std::string sshBase64(std::string_view bytes);

}  // namespace jitb::ca
