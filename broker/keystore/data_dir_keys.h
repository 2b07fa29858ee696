// The keys a broker kept in its data_dir before keys.kek_file, read so that its first start with
// a KEK seals them into the store instead of making new ones (a move to replicas keeps every
// client's trust and every token already issued). Files are only read, never changed or
// removed; the caller names them, so that the key store knows no configuration.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "broker/core/status.h"
#include "broker/keystore/shared_keys.h"

namespace jitb::keystore {

// The CA of a CA folder (root.crt, intermediate.crt, intermediate.key, and root.key unless it
// was taken offline) in the form of the store's "ca" row. nullopt when the folder holds none
// of those files; InvalidArgument naming what is missing when it holds part of a CA, or when
// the intermediate's key does not match its certificate.
core::StatusOr<std::optional<NewKey>> readCaFolder(const std::string& dir);

// The SSH CA key file as the store's "ssh_ca" row; nullopt when there is no such file.
core::StatusOr<std::optional<NewKey>> readSshCaKey(const std::string& file);

// The token-signing key of a PKCS#8 PEM: its kid (the JWK thumbprint) and public JWK.
// InvalidArgument unless it is an EC P-256 private key.
core::StatusOr<NewKey> tokenKeyFromPem(const std::string& pem);

// Every token-signing key of a folder of <created-ms>.pem files (the format jose/signer.h
// writes), oldest first, each signing from its creation as it did there. Empty when the folder
// is missing or holds none.
core::StatusOr<std::vector<NewKey>> readTokenKeyFolder(const std::string& dir);

// True when two PEM texts hold the same certificates in the same order (compared as DER, so
// that line breaks and text around the blocks do not matter).
bool sameCertificates(const std::string& a, const std::string& b);

}  // namespace jitb::keystore
