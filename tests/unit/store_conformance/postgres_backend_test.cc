// The conformance suite on PgStore, a schema of the test server per test.
#include "tests/unit/store_conformance/conformance.h"
#include "tests/unit/store_conformance/pg_env.h"

namespace jitb::store::conformance {

INSTANTIATE_STORE_CONFORMANCE(Postgres, postgresBackend());

}  // namespace jitb::store::conformance
