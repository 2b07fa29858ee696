#include "policies/engine/ticket_state.h"

namespace jitb {

std::optional<TicketState> parseTicketState(std::string_view text) {
  for (TicketState s : {TicketState::kPending, TicketState::kApproved, TicketState::kRejected,
                        TicketState::kClosed, TicketState::kCanceled})
    if (ticketStateName(s) == text) return s;
  return std::nullopt;
}

std::string_view ticketStateName(TicketState s) {
  switch (s) {
    case TicketState::kPending:
      return "pending";
    case TicketState::kApproved:
      return "approved";
    case TicketState::kRejected:
      return "rejected";
    case TicketState::kClosed:
      return "closed";
    case TicketState::kCanceled:
      return "canceled";
  }
  return "pending";
}

bool isTerminal(TicketState s) {
  return s == TicketState::kClosed || s == TicketState::kCanceled || s == TicketState::kRejected;
}

bool isUsable(TicketState s) { return s == TicketState::kApproved; }

int restrictiveness(TicketState s) {
  if (isTerminal(s)) return 2;
  return isUsable(s) ? 0 : 1;
}

bool isTerminalState(std::string_view text) {
  auto s = parseTicketState(text);
  return s && isTerminal(*s);
}

bool isUsableState(std::string_view text) {
  auto s = parseTicketState(text);
  return s && isUsable(*s);
}

int restrictiveness(std::string_view text) {
  auto s = parseTicketState(text);
  return s ? restrictiveness(*s) : restrictiveness(TicketState::kPending);
}

}  // namespace jitb
