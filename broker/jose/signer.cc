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

core::Status TokenSigner::load(core::TimePoint now) {
  std::vector<Key> all;
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
    Key key{created, "", std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free), ecPublicJwk(k)};
    key.kid = ecThumbprint(key.jwk);
    key.jwk["kid"] = key.kid;
    key.jwk["use"] = "sig";
    key.jwk["alg"] = "ES256";
    all.push_back(std::move(key));
  }
  if (ec) return core::unavailable("cannot read " + dir_ + ": " + ec.message());
  std::sort(all.begin(), all.end(), [](const Key& a, const Key& b) { return a.created_ms < b.created_ms; });
  std::vector<Key> published;
  for (size_t i = 0; i < all.size(); ++i) {
    bool newest = i + 1 == all.size();
    if (newest || ms(now) - all[i + 1].created_ms < kPublishAfterRetireMs)
      published.push_back(all[i]);
  }
  json::array jwks;
  for (const auto& k : published) jwks.push_back(k.jwk);
  std::shared_ptr<const KeySet> set;
  if (!published.empty()) {
    auto parsed = KeySet::fromJson({{"keys", jwks}});
    if (!parsed.ok()) return parsed.status();
    set = std::make_shared<const KeySet>(std::move(*parsed));
  }
  std::shared_ptr<const PreparedSigner> signer;
  if (!published.empty()) {
    auto made = PreparedSigner::make(Alg::kES256, published.back().pkey.get());
    if (!made.ok()) return made.status();
    signer = std::move(*made);
  }
  std::lock_guard lk(mu_);
  keys_ = std::move(published);
  key_set_ = set;
  signer_ = std::move(signer);
  if (!keys_.empty()) {
    json::object header{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", keys_.back().kid}};
    header_b64_ = base64urlEncode(json::serialize(header));
  }
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
  return keys_.back().kid;
}

core::Status TokenSigner::rotate(core::TimePoint now) {
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
