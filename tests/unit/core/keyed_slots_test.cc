#include "broker/core/keyed_slots.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace jitb::core {
namespace {

TEST(KeyCounts, CountsPerKeyAndForgetsKeysAtZero) {
  KeyCounts c;
  c.add("a");
  c.add("a");
  c.add("b");
  EXPECT_EQ(c.of("a"), 2u);
  EXPECT_EQ(c.of("b"), 1u);
  EXPECT_EQ(c.of("never"), 0u);
  EXPECT_EQ(c.keys(), 2u);
  c.remove("b");
  EXPECT_EQ(c.keys(), 1u);
  c.remove("a");
  c.remove("a");
  EXPECT_EQ(c.keys(), 0u);
  c.remove("a");  // not held: ignored rather than wrapping below zero
  EXPECT_EQ(c.of("a"), 0u);
}

class Recorder : public SlotOwner {
 public:
  void release(const std::string& key) override { released.push_back(key); }
  std::vector<std::string> released;
};

TEST(Slot, GivesItsPlaceBackOnceWhenDestroyedOrReset) {
  Recorder owner;
  {
    Slot s(&owner, "k1");
    EXPECT_TRUE(s.held());
  }
  EXPECT_EQ(owner.released, std::vector<std::string>{"k1"});
  Slot r(&owner, "k2");
  r.reset();
  r.reset();
  EXPECT_FALSE(r.held());
  EXPECT_EQ(owner.released, (std::vector<std::string>{"k1", "k2"}));
  Slot empty;
  EXPECT_FALSE(empty.held());
}

TEST(Slot, AMovedSlotIsReleasedOnceByItsNewHolder) {
  Recorder owner;
  {
    Slot a(&owner, "k");
    Slot b(std::move(a));
    EXPECT_FALSE(a.held());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
    EXPECT_TRUE(b.held());
    EXPECT_TRUE(owner.released.empty());
  }
  EXPECT_EQ(owner.released, std::vector<std::string>{"k"});
}

TEST(Slot, MoveAssignmentReleasesWhatWasHeld) {
  Recorder owner;
  Slot a(&owner, "old");
  Slot b(&owner, "new");
  a = std::move(b);
  EXPECT_EQ(owner.released, std::vector<std::string>{"old"});
  a = Slot();
  EXPECT_EQ(owner.released, (std::vector<std::string>{"old", "new"}));
}

}  // namespace
}  // namespace jitb::core
