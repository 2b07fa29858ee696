// PostgreSQL login roles (docs/database-credentials.md): mint() records which database and
// group roles the lease holds; activate() creates the role once the lease is durable, named
// from the lease id (downstream::roleNameFor), with a fresh random password, valid until the
// lease ends and a member of the grant's roles only.
#pragma once

#include <map>
#include <string>

#include "broker/downstream/role_admin.h"
#include "broker/issuing/minter.h"
#include "broker/store/store.h"

namespace jitb::issuing {

struct DatabaseTarget {
  downstream::RoleAdmin* admin = nullptr;
  std::string host;  // what callers are told to connect to
  int port = 5432;
  std::string database;
  int connection_limit = 10;
};

// The lease's jti for a role password: "pgpw_" + hex SHA-256 (the password is 32 random bytes,
// so the hash reveals nothing usable).
std::string passwordHandle(std::string_view password);

class DatabaseMinter final : public CredentialMinter {
 public:
  // `store`: where activate() marks the lease "activated" once its role exists, so that the
  // reaper can tell a role whose answer never left (a crash in between) from a delivered one.
  DatabaseMinter(std::map<std::string, DatabaseTarget> databases, store::Store& store)
      : dbs_(std::move(databases)), store_(store) {}
  policies::CredentialKind kind() const override { return policies::CredentialKind::kDatabase; }
  // fields: password, host, port, database, valid_until (RFC 3339), expires_in. The lease's
  // jti is passwordHandle(password), so the holder can revoke it with the password alone
  // (RFC 7009: holding the credential is enough); the password itself is never stored.
  std::variant<Minted, MintRefusal> mint(const MintContext& ctx) override;
  bool activates() const override { return true; }
  // Adds username and password to `fields`. Unavailable when the database refuses.
  core::Status activate(const store::LeaseRow& lease, boost::json::object& fields) override;

 private:
  std::map<std::string, DatabaseTarget> dbs_;
  store::Store& store_;
};

}  // namespace jitb::issuing
