#include "clients/jitctl/audit_store.h"

#include <map>

#include "broker/server/config.h"
#include "broker/store/postgres/pg_audit.h"
#include "broker/store/postgres/pg_conn.h"

namespace jitb::jitctl {

core::StatusOr<StoreAudit> storeAuditOf(const std::string& config_file) {
  auto cfg = server::loadConfig(config_file);
  if (!cfg.ok()) return cfg.status();
  return StoreAudit{cfg->postgres_url, cfg->data_dir + "/audit.log"};
}

namespace {
core::StatusOr<std::unique_ptr<store::pg::Conn>> connect(const std::string& url) {
  auto c = store::pg::Conn::connect(url, 5);
  if (!c.ok()) return core::unavailable("cannot reach the store: " + c.status().message());
  return c;
}
}  // namespace

core::StatusOr<audit::ChainsResult> verifyStoreChains(const std::string& postgres_url) {
  auto c = connect(postgres_url);
  if (!c.ok()) return c.status();
  audit::ChainsVerifier v;
  // The heads first: records committed after them extend a chain past its head, which is
  // not a removal (verify runs beside live replicas), so the chain is checked up to the head.
  std::map<std::string, std::pair<int64_t, std::string>> heads;
  core::Status st = store::pg::forEachAuditHead(
      **c, [&](const std::string& r, int64_t seq, const std::string& hash) {
        heads[r] = {seq, hash};
      });
  if (!st.ok()) return st;
  st = store::pg::forEachAuditRecord(
      **c, [&](const std::string& r, int64_t seq, const std::string& line) {
        auto h = heads.find(r);
        // Newer than the head read: committed since. (A chain without a head fails.)
        if (h != heads.end() && seq > h->second.first) return true;
        return v.add(r, seq, line);
      });
  if (!st.ok()) return st;
  for (const auto& [r, h] : heads) v.head(r, h.first, h.second);
  return v.finish();
}

core::StatusOr<int64_t> exportStoreChains(const std::string& postgres_url, std::FILE* out) {
  auto c = connect(postgres_url);
  if (!c.ok()) return c.status();
  int64_t n = 0;
  core::Status st = store::pg::forEachAuditRecord(
      **c, [&](const std::string&, int64_t, const std::string& line) {
        std::fwrite(line.data(), 1, line.size(), out);
        std::fputc('\n', out);
        ++n;
        return true;
      });
  if (!st.ok()) return st;
  return n;
}

}  // namespace jitb::jitctl
