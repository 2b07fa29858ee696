#include "policies/engine/ticket_state.h"

#include <gtest/gtest.h>

namespace jitb {
namespace {

TEST(TicketState, TerminalUsableAndRestrictive) {
  EXPECT_TRUE(isTerminalState("closed"));
  EXPECT_TRUE(isTerminalState("canceled"));
  EXPECT_TRUE(isTerminalState("rejected"));
  EXPECT_FALSE(isTerminalState("approved"));
  EXPECT_FALSE(isTerminalState("pending"));
  EXPECT_TRUE(isUsableState("approved"));
  EXPECT_FALSE(isUsableState("pending"));
  EXPECT_FALSE(isUsableState("closed"));
  // The order used to break a tie of updated_at: terminal > pending > approved.
  EXPECT_GT(restrictiveness("closed"), restrictiveness("pending"));
  EXPECT_GT(restrictiveness("pending"), restrictiveness("approved"));
  EXPECT_EQ(restrictiveness("rejected"), restrictiveness("canceled"));
}

TEST(TicketState, TextRoundTripsAndUnknownTextIsNoState) {
  for (TicketState s : {TicketState::kPending, TicketState::kApproved, TicketState::kRejected,
                        TicketState::kClosed, TicketState::kCanceled})
    EXPECT_EQ(parseTicketState(ticketStateName(s)), s);
  // The store's placeholder for a ticket it never received, and near misses, are not states.
  for (const char* text : {"unknown", "Approved", "cancelled", ""}) {
    EXPECT_FALSE(parseTicketState(text).has_value()) << text;
    EXPECT_FALSE(isTerminalState(text)) << text;
    EXPECT_FALSE(isUsableState(text)) << text;
    EXPECT_EQ(restrictiveness(text), restrictiveness(TicketState::kPending)) << text;
  }
}

}  // namespace
}  // namespace jitb
