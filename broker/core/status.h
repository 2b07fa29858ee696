// The broker's one error vocabulary (Abseil-style codes returned as values). Exceptions never
// cross a module boundary; broker/http/errors.h maps these codes to HTTP in one place.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace jitb::core {

enum class Code {
  kOk,
  kInvalidArgument,    // 400 invalid_request
  kUnauthenticated,    // 401 unauthenticated
  kPermissionDenied,   // 403 access_denied
  kNotFound,           // 404 not_found
  kMethodNotAllowed,   // 405
  kConflict,           // 409: another writer owns the resource
  kPayloadTooLarge,    // 413
  kUnsupportedMedia,   // 415
  kResourceExhausted,  // 429
  kUnavailable,        // 503
  kInternal,           // 500: never for bad input
};

// `message` is safe to show to the caller; `detail` is for logs only (never key material).
class Status {
 public:
  Status() = default;
  Status(Code code, std::string message, std::string detail = {})
      : code_(code), message_(std::move(message)), detail_(std::move(detail)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& detail() const { return detail_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string detail_;
};

inline Status okStatus() { return {}; }
inline Status invalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status notFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
inline Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status internalError(std::string detail) {
  return {Code::kInternal, "internal error", std::move(detail)};
}

// Holds a T or a non-OK Status.
template <class T>
class StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace jitb::core
