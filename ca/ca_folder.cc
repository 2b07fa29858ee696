#include "ca/ca_folder.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string_view>

#include "ca/ca_cert.h"
#include "ca/key.h"
#include "ca/ossl.h"

namespace jitb::ca {

namespace fs = std::filesystem;

namespace {

// Whole-file read into memory the caller wipes; no iostreams, so no hidden buffer copies.
bool readAll(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  OPENSSL_cleanse(buf, sizeof buf);
  ::close(fd);
  return n == 0;
}

X509Ptr loadCert(const std::string& path) {
  std::string pem;
  if (!readAll(path, pem)) return X509Ptr(nullptr);
  BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
}

std::string subjectOf(X509* c) {
  BioPtr b(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(b.get(), X509_get_subject_name(c), 0, XN_FLAG_RFC2253);
  return bioString(b.get());
}

std::chrono::system_clock::time_point notAfterOf(X509* c) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(c), &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

bool syncDir(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// The algorithm of an existing CA key, so a renewed intermediate keeps it.
KeyAlgorithm algorithmOf(EVP_PKEY* k) {
  if (EVP_PKEY_is_a(k, "ED25519")) return KeyAlgorithm::kEd25519;
  if (EVP_PKEY_is_a(k, "RSA")) return KeyAlgorithm::kRsa3072;
  char group[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(k, group, sizeof group, &len) == 1 &&
      std::string_view(group, len) == "secp384r1")
    return KeyAlgorithm::kEcP384;
  return KeyAlgorithm::kEcP256;
}

struct Wiped {
  std::string s;
  ~Wiped() { OPENSSL_cleanse(s.data(), s.size()); }
};

}  // namespace

Result<CaFolderStatus> inspectCaFolder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error{ErrorCode::kNotFound, dir + " is not a folder"};
  CaFolderStatus st;
  st.root_key = fs::exists(dir + "/root.key", ec);
  st.intermediate_key = fs::exists(dir + "/intermediate.key", ec);
  if (X509Ptr r = loadCert(dir + "/root.crt")) {
    st.root_cert = true;
    st.root_subject = subjectOf(r.get());
    st.root_not_after = notAfterOf(r.get());
  }
  if (X509Ptr i = loadCert(dir + "/intermediate.crt")) {
    st.intermediate_cert = true;
    st.intermediate_subject = subjectOf(i.get());
    st.intermediate_not_after = notAfterOf(i.get());
  }
  return st;
}

Result<bool> moveRootKeyOffline(const std::string& dir, const std::string& out_file) {
  const std::string root_key = dir + "/root.key";
  std::error_code ec;
  if (!fs::exists(root_key, ec))
    return Error{ErrorCode::kNotFound, "no root key in " + dir + " (already offline?)"};
  fs::path out_dir = fs::absolute(out_file, ec).parent_path();
  if (fs::equivalent(out_dir, dir, ec))
    return invalid("--out must be outside the CA folder " + dir);

  // The broker must be able to go on without the root: a complete CA, intermediate signed by it.
  X509Ptr root = loadCert(dir + "/root.crt"), inter = loadCert(dir + "/intermediate.crt");
  if (!root || !inter)
    return invalid(dir + " lacks root.crt or intermediate.crt; not moving the root key");
  auto rk = PrivateKey::fromPemFile(root_key);
  auto ik = PrivateKey::fromPemFile(dir + "/intermediate.key");
  if (!rk.ok() || !ik.ok()) return invalid("cannot read the CA keys in " + dir);
  if (X509_check_private_key(root.get(), rk->get()) != 1)
    return invalid(root_key + " does not match root.crt; not moving it");
  if (X509_check_private_key(inter.get(), ik->get()) != 1 ||
      X509_verify(inter.get(), X509_get0_pubkey(root.get())) != 1)
    return invalid(dir +
                   "/intermediate.crt is not this root's intermediate with its key; the "
                   "broker could not run without the root key");

  Wiped bytes;
  if (!readAll(root_key, bytes.s)) return internal("cannot read " + root_key);
  int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno == EEXIST ? invalid(out_file + " exists; not overwriting it")
                           : internal("cannot create " + out_file + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  for (size_t off = 0; ok && off < bytes.s.size();) {
    ssize_t n = ::write(fd, bytes.s.data() + off, bytes.s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) off += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  ok = ok && syncDir(out_dir.string());
  Wiped back;
  ok = ok && readAll(out_file, back.s) && back.s == bytes.s;
  if (!ok) {
    ::unlink(out_file.c_str());
    return internal("cannot write a durable copy to " + out_file + "; the root key stays in " +
                    dir);
  }
  // Only now, with a synced and verified copy elsewhere, does the original go.
  if (::unlink(root_key.c_str()) != 0 || !syncDir(dir))
    return internal("copied the root key to " + out_file + " but cannot remove " + root_key);
  return true;
}

Result<RenewedIntermediate> renewIntermediate(const std::string& dir,
                                              const std::string& root_key_file,
                                              std::chrono::system_clock::time_point now) {
  const std::string crt = dir + "/intermediate.crt", key = dir + "/intermediate.key";
  X509Ptr root = loadCert(dir + "/root.crt"), old = loadCert(crt);
  if (!root || !old) return invalid(dir + " lacks root.crt or intermediate.crt");
  auto rk = PrivateKey::fromPemFile(root_key_file);
  if (!rk.ok()) return invalid("cannot read a private key from " + root_key_file);
  if (X509_check_private_key(root.get(), rk->get()) != 1)
    return invalid(root_key_file + " is not the key of " + dir + "/root.crt");
  char cn[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(old.get()), NID_commonName, cn, sizeof cn) <=
      0)
    std::snprintf(cn, sizeof cn, "jitbroker issuing CA");
  auto ik = PrivateKey::generate(algorithmOf(X509_get0_pubkey(old.get())));
  if (!ik.ok()) return internal("intermediate key generation failed");
  auto cert = makeCaCert(cn, *ik, root.get(), *rk, now, 1825, 0);
  if (!cert.ok()) return cert.error();

  // New pair complete and synced first, then the swap: a crash leaves either the old pair in
  // place or both pairs on disk, never a certificate without its key.
  const std::string suffix =
      ".replaced-" + std::to_string(std::chrono::system_clock::to_time_t(now));
  if (!ik->writePemFile(key + ".new").ok() || !writeCert(crt + ".new", cert->get()))
    return internal("cannot write the new intermediate in " + dir);
  bool ok = ::rename(crt.c_str(), (crt + suffix).c_str()) == 0 &&
            ::rename(key.c_str(), (key + suffix).c_str()) == 0 &&
            ::rename((key + ".new").c_str(), key.c_str()) == 0 &&
            ::rename((crt + ".new").c_str(), crt.c_str()) == 0 && syncDir(dir);
  if (!ok)
    return internal("cannot swap in the new intermediate in " + dir + ": " + std::strerror(errno) +
                    " (the old pair is intermediate.*" + suffix + ")");
  return RenewedIntermediate{subjectOf(cert->get()), notAfterOf(cert->get()), suffix};
}

}  // namespace jitb::ca
