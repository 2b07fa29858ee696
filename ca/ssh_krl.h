// OpenSSH key revocation lists (PROTOCOL.krl) for sshd's RevokedKeys: one certificate section
// under the CA key, listing revoked serials (runs as ranges). No KRL signature: OpenSSH 9.4
// and later refuse to load signed KRLs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace jitb::ca {

struct RevokedSshSerial {
  uint64_t serial = 0;
  // The certificate's valid_before: once past, sshd refuses it anyway and the KRL drops it.
  std::chrono::system_clock::time_point valid_before;
};

struct KrlContents {
  std::string ca_key_blob;  // the CA's public key, wire form
  uint64_t version = 0;     // increases with every change (the caller keeps it)
  std::chrono::system_clock::time_point generated;
  std::vector<RevokedSshSerial> revoked;  // any order; duplicates, serial 0 and expired dropped
  std::string comment;
};

// The binary KRL. Serials are sorted; a run of three or more consecutive serials is written as
// a range, the rest as lists.
std::string encodeKrl(const KrlContents& krl);

// The serials a KRL would list, after pruning (sorted, unique): what encodeKrl writes.
std::vector<uint64_t> liveSerials(const std::vector<RevokedSshSerial>& revoked,
                                  std::chrono::system_clock::time_point now);

}  // namespace jitb::ca
