#include "ca/ssh_krl.h"

#include <algorithm>

#include "ca/ssh_wire.h"

namespace jitb::ca {

namespace {
constexpr uint64_t kMagic = 0x5353484b524c0a00ULL;  // "SSHKRL\n\0"
constexpr uint32_t kFormatVersion = 1;
constexpr uint8_t kSectionCertificates = 1;
constexpr uint8_t kSerialList = 0x20;
constexpr uint8_t kSerialRange = 0x21;
constexpr size_t kMinRange = 3;  // a range (16 bytes) beats a list from three serials on

uint64_t unixSeconds(std::chrono::system_clock::time_point t) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return s < 0 ? 0 : static_cast<uint64_t>(s);
}
}  // namespace

std::vector<uint64_t> liveSerials(const std::vector<RevokedSshSerial>& revoked,
                                  std::chrono::system_clock::time_point now) {
  std::vector<uint64_t> out;
  out.reserve(revoked.size());
  for (const auto& r : revoked)
    if (r.serial != 0 && r.valid_before > now) out.push_back(r.serial);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string encodeKrl(const KrlContents& krl) {
  sshwire::Writer w;
  w.u64(kMagic);
  w.u32(kFormatVersion);
  w.u64(krl.version);
  w.u64(unixSeconds(krl.generated));
  w.u64(0);  // flags
  w.string("");  // reserved
  w.string(krl.comment);
  std::vector<uint64_t> serials = liveSerials(krl.revoked, krl.generated);
  if (serials.empty()) return w.take();

  sshwire::Writer section;
  section.string(krl.ca_key_blob);
  section.string("");  // reserved
  sshwire::Writer list;
  auto flushList = [&] {
    if (list.bytes().empty()) return;
    section.u8(kSerialList);
    section.string(list.bytes());
    list = sshwire::Writer();
  };
  for (size_t i = 0; i < serials.size();) {
    size_t j = i + 1;
    while (j < serials.size() && serials[j] == serials[j - 1] + 1) ++j;
    if (j - i >= kMinRange) {
      flushList();
      sshwire::Writer range;
      range.u64(serials[i]);
      range.u64(serials[j - 1]);
      section.u8(kSerialRange);
      section.string(range.bytes());
    } else {
      for (size_t k = i; k < j; ++k) list.u64(serials[k]);
    }
    i = j;
  }
  flushList();
  w.u8(kSectionCertificates);
  w.string(section.bytes());
  return w.take();
}

}  // namespace jitb::ca
