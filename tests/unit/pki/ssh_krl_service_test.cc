// The KRL service against a mock store and a real SSH CA: which leases become KRL serials, when
// the KRL is built again, and that its version moves only when its serials do.
#include "broker/pki/ssh_krl_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ca/ssh_wire.h"
#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_store.h"
#include "tests/support/temp_dir.h"

namespace jitb::pki {
namespace {

using namespace std::chrono_literals;
using ::testing::_;
using ::testing::Return;

const core::TimePoint kStart = std::chrono::system_clock::from_time_t(1795456800);

int64_t ms(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

store::LeaseRow sshLease(std::string serial, core::TimePoint expires) {
  store::LeaseRow l;
  l.id = "lease-" + serial;
  l.kind = store::LeaseKind::kSsh;
  l.serial = std::move(serial);
  l.state = store::LeaseState::kRevoked;
  l.expires_at = ms(expires);
  return l;
}

// The header's version and the listed serials, read back from the bytes.
struct Parsed {
  uint64_t version = 0;
  std::vector<uint64_t> serials;
};
Parsed parse(const std::string& krl) {
  Parsed p;
  ca::sshwire::Reader r(krl);
  uint64_t magic = 0, gen = 0, flags = 0;
  uint32_t fmt = 0;
  std::string_view reserved, comment, section;
  EXPECT_TRUE(r.u64(magic) && r.u32(fmt) && r.u64(p.version) && r.u64(gen) && r.u64(flags) &&
              r.string(reserved) && r.string(comment));
  // The certificate section follows the header; walk it by hand.
  size_t off = 8 + 4 + 8 + 8 + 8 + 4 + reserved.size() + 4 + comment.size();
  if (off >= krl.size()) return p;
  EXPECT_EQ(krl[off], 1);
  ca::sshwire::Reader sec(std::string_view(krl).substr(off + 1));
  EXPECT_TRUE(sec.string(section));
  ca::sshwire::Reader s(section);
  std::string_view ca_key, res;
  EXPECT_TRUE(s.string(ca_key) && s.string(res));
  std::string_view rest = section.substr(4 + ca_key.size() + 4 + res.size());
  while (!rest.empty()) {
    uint8_t sub = static_cast<uint8_t>(rest[0]);
    ca::sshwire::Reader body(rest.substr(1));
    std::string_view data;
    EXPECT_TRUE(body.string(data));
    ca::sshwire::Reader d(data);
    uint64_t a = 0, b = 0;
    if (sub == 0x20) {
      while (d.u64(a)) p.serials.push_back(a);
    } else if (sub == 0x21 && d.u64(a) && d.u64(b)) {
      for (uint64_t v = a; v <= b; ++v) p.serials.push_back(v);
    }
    rest.remove_prefix(1 + 4 + data.size());
  }
  return p;
}

class SshKrlServiceTest : public ::testing::Test {
 protected:
  SshKrlServiceTest()
      : ca_(ca::SshCa::loadOrCreate(tmp_.path() + "/k", ca::KeyAlgorithm::kEd25519).value()) {
    krl_ = std::make_unique<SshKrlService>(ca_, store_, clock_, metrics_);
  }

  testing::TempDir tmp_;
  ca::SshCa ca_;
  ::testing::StrictMock<testing::MockStore> store_;
  core::FakeClock clock_{kStart};
  metrics::Registry metrics_;
  std::unique_ptr<SshKrlService> krl_;
};

TEST_F(SshKrlServiceTest, ListsRevokedUnexpiredSerialsAndDropsExpiredOnes) {
  EXPECT_CALL(store_, revokedUnexpiredSsh(ms(kStart)))
      .WillOnce(Return(std::vector<store::LeaseRow>{
          sshLease("42", kStart + 1h), sshLease("18446744073709551615", kStart + 1h),
          sshLease("7", kStart - 1s), sshLease("not-a-number", kStart + 1h)}));
  EXPECT_CALL(store_, nextCounter("ssh_krl_version")).WillOnce(Return(5));
  auto krl = krl_->krl();
  ASSERT_TRUE(krl.ok());
  Parsed p = parse(*krl);
  EXPECT_EQ(p.version, 5u);
  EXPECT_EQ(p.serials, (std::vector<uint64_t>{42, 18446744073709551615ull}));
}

TEST_F(SshKrlServiceTest, CachedUntilARevocationOrASecondPasses) {
  std::vector<store::LeaseRow> rows{sshLease("42", kStart + 1h)};
  EXPECT_CALL(store_, revokedUnexpiredSsh(_)).Times(3).WillRepeatedly([&](int64_t) {
    return core::StatusOr<std::vector<store::LeaseRow>>(rows);
  });
  EXPECT_CALL(store_, nextCounter("ssh_krl_version")).WillOnce(Return(1)).WillOnce(Return(2));
  EXPECT_EQ(parse(*krl_->krl()).version, 1u);
  clock_.advance(500ms);
  EXPECT_EQ(parse(*krl_->krl()).version, 1u);  // cached: no store read
  clock_.advance(600ms);
  EXPECT_EQ(parse(*krl_->krl()).version, 1u);  // read again, same serials: same version
  rows.push_back(sshLease("43", kStart + 1h));
  krl_->sshRevoked();
  Parsed p = parse(*krl_->krl());
  EXPECT_EQ(p.version, 2u);
  EXPECT_EQ(p.serials, (std::vector<uint64_t>{42, 43}));
}

TEST_F(SshKrlServiceTest, AStoreFailureIsAnErrorAndTheNextFetchTriesAgain) {
  EXPECT_CALL(store_, revokedUnexpiredSsh(_))
      .WillOnce(Return(core::unavailable("store down")))
      .WillOnce(Return(std::vector<store::LeaseRow>{}));
  EXPECT_CALL(store_, nextCounter("ssh_krl_version")).WillOnce(Return(1));
  EXPECT_FALSE(krl_->krl().ok());
  auto krl = krl_->krl();
  ASSERT_TRUE(krl.ok());
  EXPECT_TRUE(parse(*krl).serials.empty());
}

}  // namespace
}  // namespace jitb::pki
