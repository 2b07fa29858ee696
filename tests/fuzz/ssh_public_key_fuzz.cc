// libFuzzer target: arbitrary bytes as an OpenSSH public key line and as a key blob, and an
// accepted key certified by a fixed CA. Must never crash, leak or read out of bounds.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ca/ssh_ca.h"
#include "ca/ssh_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static const jitb::ca::SshCa* ca = [] {
    auto key = jitb::ca::PrivateKey::generate(jitb::ca::KeyAlgorithm::kEd25519);
    return new jitb::ca::SshCa(jitb::ca::SshCa::fromKey(std::move(key.value())).value());
  }();
  for (auto key : {jitb::ca::parseSshPublicKey(in), jitb::ca::parseSshPublicKeyBlob(in)}) {
    if (!key.ok()) continue;
    (void)key->fields().size();
    jitb::ca::SshUserCertRequest req;
    req.key = std::move(key.value());
    req.serial = 1;
    req.key_id = "fuzz";
    req.principals = {"fuzz"};
    auto now = std::chrono::system_clock::now();
    req.valid_before = now + std::chrono::minutes(5);
    auto cert = ca->signUser(req, now);
    if (cert.ok()) (void)cert->line.size();
  }
  return 0;
}
