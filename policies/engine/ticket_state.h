// The states of a change ticket, and the one place that says what each means for access.
// Tickets keep their state as text on the wire and in the store ("approved", ...); code that
// decides on a state goes through these functions instead of comparing strings.
// Its own target (jitb_ticket_state) with no dependencies, so that the policy engine, the
// store and the broker's ticket and lease code all share it without seeing each other.
#pragma once

#include <optional>
#include <string_view>

namespace jitb {

enum class TicketState { kPending, kApproved, kRejected, kClosed, kCanceled };

// Nullopt for any other text (e.g. the store's placeholder "unknown").
std::optional<TicketState> parseTicketState(std::string_view text);
// The wire and store spelling.
std::string_view ticketStateName(TicketState s);

// Final: no later event reopens the ticket, and every lease of it ends.
bool isTerminal(TicketState s);
// Only an approved ticket lets credentials be issued or stay valid.
bool isUsable(TicketState s);
// How much access a state takes away, to order two events with the same updated_at:
// terminal (2) > pending (1) > approved (0).
int restrictiveness(TicketState s);

// The same questions of a state's text; text that names no state is neither terminal nor
// usable, and ranks as pending.
bool isTerminalState(std::string_view text);
bool isUsableState(std::string_view text);
int restrictiveness(std::string_view text);

}  // namespace jitb
