#include "broker/jose/signer.h"

#include <openssl/pem.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>

#include "broker/core/files.h"

namespace jitb::jose {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {
constexpr int64_t kPublishAfterRetireMs = 24LL * 3600 * 1000;

int64_t ms(core::TimePoint t) { return core::unixMillis(t); }

using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;

core::Status writeNewKey(const std::string& dir, core::TimePoint now) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!key || !bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return core::internalError("cannot generate a token-signing key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(n));
  std::string path = dir + "/" + std::to_string(ms(now)) + ".pem";
  core::Status st = core::writeFileAtomic(path, pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  return st;
}
}  // namespace

core::StatusOr<std::unique_ptr<TokenSigner>> TokenSigner::loadOrCreate(const std::string& dir,
                                                                       core::TimePoint now) {
  if (core::Status st = core::ensureDir(dir); !st.ok()) return st;
  std::unique_ptr<TokenSigner> s(new TokenSigner(dir));
  if (core::Status st = s->load(now); !st.ok()) return st;
  if (s->keys_.empty()) {
    if (core::Status st = writeNewKey(dir, now); !st.ok()) return st;
    if (core::Status st = s->load(now); !st.ok()) return st;
  }
  return s;
}

std::unique_ptr<TokenSigner> TokenSigner::external(
    std::function<core::Status(core::TimePoint)> rotate) {
  std::unique_ptr<TokenSigner> s(new TokenSigner(""));
  s->rotate_ = std::move(rotate);
  return s;
}

core::Status TokenSigner::load(core::TimePoint now) {
  std::vector<SigningKey> all;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() != ".pem") continue;
    int64_t created = 0;
    try {
      created = std::stoll(e.path().stem().string());
    } catch (...) {
      continue;  // not one of ours
    }
    auto pem = core::readFile(e.path().string());
    if (!pem.ok()) return pem.status();
    BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!k || !keyFitsAlg(k, Alg::kES256)) {
      EVP_PKEY_free(k);
      return core::internalError("token-signing key " + e.path().string() + " is not EC P-256");
    }
    all.push_back({created, created, std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free)});
  }
  if (ec) return core::unavailable("cannot read " + dir_ + ": " + ec.message());
  if (all.empty()) return core::okStatus();  // loadOrCreate makes the first
  return setKeys(std::move(all), now);
}

core::Status TokenSigner::setKeys(std::vector<SigningKey> in, core::TimePoint now) {
  if (in.empty()) return core::invalidArgument("no token-signing key");
  std::vector<Key> all;
  for (auto& k : in) {
    if (!k.pkey || !keyFitsAlg(k.pkey.get(), Alg::kES256))
      return core::invalidArgument("a token-signing key is not EC P-256");
    Key key{k.created_ms, k.active_from_ms, "", k.pkey, ecPublicJwk(k.pkey.get())};
    key.kid = ecThumbprint(key.jwk);
    key.jwk["kid"] = key.kid;
    key.jwk["use"] = "sig";
    key.jwk["alg"] = "ES256";
    all.push_back(std::move(key));
  }
  std::sort(all.begin(), all.end(),
            [](const Key& a, const Key& b) { return a.created_ms < b.created_ms; });
  // The newest key whose time has come signs; before any has (only a clock far behind the
  // one that made them), the oldest, rather than nothing.
  size_t signing = 0;
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].active_from_ms <= ms(now)) signing = i;
  std::vector<Key> published;
  size_t published_signing = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    bool retired = i < signing && ms(now) - all[i + 1].active_from_ms >= kPublishAfterRetireMs;
    if (retired) continue;
    if (i == signing) published_signing = published.size();
    published.push_back(all[i]);
  }
  json::array jwks;
  for (const auto& k : published) jwks.push_back(k.jwk);
  auto parsed = KeySet::fromJson({{"keys", jwks}});
  if (!parsed.ok()) return parsed.status();
  auto set = std::make_shared<const KeySet>(std::move(*parsed));
  auto made = PreparedSigner::make(Alg::kES256, published[published_signing].pkey.get());
  if (!made.ok()) return made.status();
  json::object header{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", published[published_signing].kid}};
  std::lock_guard lk(mu_);
  keys_ = std::move(published);
  signing_ = published_signing;
  key_set_ = std::move(set);
  signer_ = std::move(*made);
  header_b64_ = base64urlEncode(json::serialize(header));
  return core::okStatus();
}

core::StatusOr<std::string> TokenSigner::sign(const json::object& claims) const {
  std::shared_ptr<const PreparedSigner> signer;
  std::string input;
  {
    std::lock_guard lk(mu_);
    signer = signer_;
    input = header_b64_;
  }
  input += '.';
  input += base64urlEncode(json::serialize(claims));
  if (!signer) return core::unavailable("no token-signing key");
  auto sig = signer->sign(input);
  if (!sig.ok()) return sig.status();
  return input + "." + base64urlEncode(*sig);
}

json::object TokenSigner::jwks() const {
  std::lock_guard lk(mu_);
  json::array keys;
  for (auto it = keys_.rbegin(); it != keys_.rend(); ++it) keys.push_back(it->jwk);
  return {{"keys", std::move(keys)}};
}

std::shared_ptr<const KeySet> TokenSigner::keySet() const {
  std::lock_guard lk(mu_);
  return key_set_;
}

std::string TokenSigner::kid() const {
  std::lock_guard lk(mu_);
  return keys_.empty() ? std::string() : keys_[signing_].kid;
}

std::string TokenSigner::newestKid() const {
  std::lock_guard lk(mu_);
  return keys_.empty() ? std::string() : keys_.back().kid;
}

core::Status TokenSigner::rotate(core::TimePoint now) {
  if (rotate_) return rotate_(now);
  {
    std::lock_guard lk(mu_);
    // File names are creation times: never reuse one.
    if (!keys_.empty() && ms(now) <= keys_.back().created_ms) now = core::TimePoint(
        std::chrono::milliseconds(keys_.back().created_ms + 1));
  }
  if (core::Status st = writeNewKey(dir_, now); !st.ok()) return st;
  return load(now);
}

std::string TokenSigner::describe() const { return "TokenSigner(ES256, kid=" + kid() + ")"; }

}  // namespace jitb::jose
