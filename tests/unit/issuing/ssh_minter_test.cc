// SSH certificates through the issuance service with a real SSH CA: the lease the KRL will
// read, the key id that names the lease, and a validity bounded by grant and window.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <charconv>
#include <set>
#include <fstream>

#include "broker/core/duration.h"
#include "broker/issuing/ssh_minter.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/issuing/service_fixture.h"

namespace jitb::testing {
namespace {

constexpr const char* kSshPolicies = R"(grants:
  - name: shell
    subjects: {issuer: "https://ci.example"}
    tickets: {kinds: [normal]}
    ssh:
      principals: ["ticket-{ticket}", "ops"]
      max_ttl: 1h
      force_command: "/usr/bin/uptime"
  - name: deploy
    subjects: {issuer: "https://ci.example"}
    token: {audience: api}
)";

// A fixed Ed25519 public key (any 32 bytes are a well-formed key to the parser).
constexpr const char* kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRlbW8tZGVtby1kZW1vLWRlbW8tZGVtby1kZW1vLWRl demo";

class SshMinterTest : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    setPolicies(kSshPolicies);
    ticket_.access = {"shell", "deploy"};
    auto made = ca::SshCa::loadOrCreate(tmp_.path() + "/ssh_ca.key", ca::KeyAlgorithm::kEd25519);
    ASSERT_TRUE(made.ok());
    ca_ssh_ = std::make_unique<ca::SshCa>(std::move(*made));
    minter_ = std::make_unique<issuing::SshMinter>(*ca_ssh_);
    service_->addMinter(*minter_);
  }
  issuing::IssueRequest sshRequest(std::string key = kKey) const {
    issuing::IssueRequest r;
    r.caller = caller();
    r.ticket = ticket_.id;
    r.kind = policies::CredentialKind::kSsh;
    r.ssh_public_key = std::move(key);
    return r;
  }
  std::string keygenL(const std::string& line) {
    std::string f = tmp_.path() + "/c-cert.pub";
    std::ofstream(f) << line << "\n";
    std::string out;
    FILE* p = popen(("ssh-keygen -L -f " + f + " 2>&1").c_str(), "r");
    char buf[4096];
    size_t n;
    while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (p) pclose(p);
    return out;
  }

  TempDir tmp_;
  std::unique_ptr<ca::SshCa> ca_ssh_;
  std::unique_ptr<issuing::SshMinter> minter_;
};

TEST_F(SshMinterTest, TheLeaseHoldsTheSerialAndTheKeyIdIsTheLeaseId) {
  auto out = issue(sshRequest());
  ASSERT_TRUE(out);
  auto* issued = std::get_if<issuing::Issued>(&*out);
  ASSERT_NE(issued, nullptr);
  ASSERT_EQ(inserted_.size(), 1u);
  const store::LeaseRow& lease = inserted_[0];
  EXPECT_EQ(lease.kind, store::LeaseKind::kSsh);
  EXPECT_EQ(issued->kind, store::LeaseKind::kSsh);
  EXPECT_EQ(lease.id, issued->lease_id);
  auto field = [&](const char* k) { return std::string(issued->fields.at(k).as_string()); };
  EXPECT_EQ(field("key_id"), lease.id);
  EXPECT_EQ(field("serial"), lease.serial);
  uint64_t serial = 0;
  auto [p, ec] = std::from_chars(lease.serial.data(), lease.serial.data() + lease.serial.size(), serial);
  EXPECT_TRUE(ec == std::errc() && p == lease.serial.data() + lease.serial.size());
  EXPECT_NE(serial, 0u);
  EXPECT_EQ(lease.expires_at, core::unixMillis(clock_.now() + std::chrono::hours(1)));
  EXPECT_EQ(field("valid_before"), core::formatRfc3339(clock_.now() + std::chrono::hours(1)));
  EXPECT_EQ(field("valid_after"), core::formatRfc3339(clock_.now() - std::chrono::seconds(60)));
  std::string shown = keygenL(std::string(issued->fields.at("certificate").as_string()));
  EXPECT_NE(shown.find("Key ID: \"" + lease.id + "\""), std::string::npos) << shown;
  EXPECT_NE(shown.find("Serial: " + lease.serial), std::string::npos) << shown;
  EXPECT_NE(shown.find("ticket-CHG1"), std::string::npos) << shown;
  EXPECT_NE(shown.find("force-command /usr/bin/uptime"), std::string::npos) << shown;
  EXPECT_EQ(audited("lease.issued"), 1u);
}

TEST_F(SshMinterTest, ValidityEndsAtTheWindowEndWhenThatComesFirst) {
  ticket_.window_end = clock_.now() + std::chrono::minutes(10);
  auto out = issue(sshRequest());
  ASSERT_TRUE(out);
  ASSERT_NE(std::get_if<issuing::Issued>(&*out), nullptr);
  ASSERT_EQ(inserted_.size(), 1u);
  EXPECT_EQ(inserted_[0].expires_at, core::unixMillis(clock_.now() + std::chrono::minutes(10)));
}

TEST_F(SshMinterTest, SerialsDiffer) {
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(issue(sshRequest()));
  for (const auto& l : inserted_) serials.insert(l.serial);
  EXPECT_EQ(serials.size(), 20u);
}

TEST_F(SshMinterTest, AKeyTheCaRefusesIsInvalidArgumentWithNothingRecorded) {
  EXPECT_CALL(store_, insertLeaseAsync).Times(0);
  auto out = issue(sshRequest("ssh-dss AAAAB3NzaC1kc3MAAAA="));
  ASSERT_TRUE(out);
  auto* st = std::get_if<core::Status>(&*out);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kInvalidArgument);
  EXPECT_EQ(audited("lease.issued"), 0u);
}

TEST_F(SshMinterTest, AGrantWithoutSshIsADenial) {
  auto r = sshRequest();
  r.grant = "deploy";
  auto out = issue(r);
  ASSERT_TRUE(out);
  auto* d = std::get_if<issuing::Denial>(&*out);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->rule, "credential.kind");
  EXPECT_TRUE(inserted_.empty());
}

}  // namespace
}  // namespace jitb::testing
