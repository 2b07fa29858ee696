// A CA made in memory, for a broker that keeps it in its store instead of the CA folder.
#include "ca/authority.h"
#include "ca/ca_cert.h"

namespace jitb::ca {

Result<CaMaterial> makeCaMaterial(const std::string& name, KeyAlgorithm algorithm,
                                  TimePoint now) {
  auto rk = PrivateKey::generate(algorithm);
  auto ik = PrivateKey::generate(algorithm);
  if (!rk.ok() || !ik.ok()) return internal("CA key generation failed");
  auto r = makeCaCert(name + " root CA", *rk, nullptr, *rk, now, 3650, -1);
  if (!r.ok()) return r.error();
  auto c = makeCaCert(name + " issuing CA", *ik, r->get(), *rk, now, 1825, 0);
  if (!c.ok()) return c.error();
  return CaMaterial{certPem(r->get()), rk->exportPemForHolder(), certPem(c->get()),
                    ik->exportPemForHolder()};
}

}  // namespace jitb::ca
