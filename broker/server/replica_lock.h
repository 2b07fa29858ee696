// Brokers sharing a PostgreSQL store must publish the same keys (CA, token-signing keys), or a
// credential issued by one would not verify at another. Until the keys live in the store, each
// broker keeps them in its data_dir; replicas are brokers whose data_dir keys are copies of
// one another's. This lock admits a broker when no other serves the schema, or when those that
// do have its keys (the fingerprint of its CA chain), and refuses it otherwise.
#pragma once

#include <memory>
#include <string>

#include "broker/core/status.h"

namespace jitb::server {

// Held for the broker's life on a connection of its own (a pool connection would release the
// session lock, or keep it, at the pool's whim). Conflict when brokers with other keys serve
// the store. Needs the schema migrated (table broker_identity).
core::StatusOr<std::shared_ptr<void>> lockReplicas(const std::string& uri,
                                                   const std::string& key_fingerprint);

}  // namespace jitb::server
