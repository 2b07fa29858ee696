// The ordering rule of ticket writes, shared by every backend: each reads the stored row under
// its own lock, asks this, and writes only when it says kApplied.
#pragma once

#include <cstdint>
#include <string>

#include "broker/store/store.h"
#include "policies/engine/ticket_state.h"

namespace jitb::store {

// Only ever in the direction that takes access away: a stored terminal ticket never changes;
// a terminal row applies whatever its time; otherwise a newer updated_at wins, and on a tie
// the more restrictive state.
inline TicketWrite ticketWriteOutcome(const std::string& stored_state, int64_t stored_at,
                                      const TicketRow& row) {
  if (isTerminalState(stored_state)) return TicketWrite::kIgnoredTerminal;
  const bool newer = row.updated_at > stored_at ||
                     (row.updated_at == stored_at &&
                      restrictiveness(row.state) > restrictiveness(stored_state));
  if (!newer && !isTerminalState(row.state)) return TicketWrite::kIgnoredNotNewer;
  return TicketWrite::kApplied;
}

}  // namespace jitb::store
