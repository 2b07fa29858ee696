#include "broker/http/conn_limiter.h"

#include <gtest/gtest.h>

#include <vector>

namespace jitb::http {
namespace {

using Admit = ConnectionLimiter::Admit;

TEST(ConnectionLimiter, OneAddressCannotTakeEverySlot) {
  ConnectionLimiter lim(10, 3);
  std::vector<ConnectionLimiter::Slot> held(3);
  for (auto& s : held) EXPECT_EQ(lim.admit("10.0.0.2", s), Admit::kOk);
  ConnectionLimiter::Slot extra;
  EXPECT_EQ(lim.admit("10.0.0.2", extra), Admit::kAddressCap);
  EXPECT_EQ(lim.open(), 3u);  // the refusal took no place
  ConnectionLimiter::Slot other;
  EXPECT_EQ(lim.admit("10.0.0.1", other), Admit::kOk);  // everyone else is still served
  held.pop_back();                                      // a closed connection gives its place back
  EXPECT_EQ(lim.admit("10.0.0.2", extra), Admit::kOk);
}

TEST(ConnectionLimiter, TheGlobalCapStillHolds) {
  ConnectionLimiter lim(4, 3);
  std::vector<ConnectionLimiter::Slot> held(4);
  for (size_t i = 0; i < held.size(); ++i)
    EXPECT_EQ(lim.admit("10.0.0." + std::to_string(i), held[i]), Admit::kOk);
  ConnectionLimiter::Slot s;
  EXPECT_EQ(lim.admit("10.0.0.9", s), Admit::kTotalCap);
}

TEST(ConnectionLimiter, PlacesComeBackAndEmptyAddressesAreForgotten) {
  ConnectionLimiter lim(100, 2);
  {
    std::vector<ConnectionLimiter::Slot> held(50);
    for (size_t i = 0; i < held.size(); ++i)
      ASSERT_EQ(lim.admit("10.1.0." + std::to_string(i), held[i]), Admit::kOk);
    EXPECT_EQ(lim.addresses(), 50u);
    ConnectionLimiter::Slot moved = std::move(held[0]);  // a moved slot is released once
    moved = std::move(held[1]);
    EXPECT_EQ(lim.open(), 49u);
  }
  EXPECT_EQ(lim.open(), 0u);
  EXPECT_EQ(lim.addresses(), 0u);  // a scan of many addresses leaves no residue
}

TEST(AddressKey, Ipv4IsItselfAndIpv6CountsByItsSlash64) {
  EXPECT_EQ(addressKey("127.0.0.2"), "127.0.0.2");
  EXPECT_EQ(addressKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(addressKey("2001:db8:1:2:bbbb::9"), addressKey("2001:db8:1:2:aaaa::1"));
  EXPECT_NE(addressKey("2001:db8:1:3::1"), addressKey("2001:db8:1:2::1"));
  EXPECT_EQ(addressKey("not-an-ip"), "not-an-ip");
}

}  // namespace
}  // namespace jitb::http
