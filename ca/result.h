// The CA library's error vocabulary. ca/ stands alone (no broker code), so it has its own
// small result type; the broker maps ErrorCode onto its statuses in one adapter.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace jitb::ca {

enum class ErrorCode { kInvalidArgument, kPermissionDenied, kNotFound, kInternal };

// `message` is safe to show a caller: never an OpenSSL error string, never key bytes.
struct Error {
  ErrorCode code;
  std::string message;
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(std::move(e)) {}      // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

inline Error invalid(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Error denied(std::string m) { return {ErrorCode::kPermissionDenied, std::move(m)}; }
inline Error internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

}  // namespace jitb::ca
