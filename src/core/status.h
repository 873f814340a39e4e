// Status and StatusOr<T>: the one error type of seer.
//
//   StatusOr<Image> decode(std::span<const uint8_t> bytes);
//   SEER_ASSIGN_OR_RETURN(Image img, decode(bytes));
//   SEER_RETURN_IF_ERROR(check_limits(img));
//   if (!s.ok()) return Status::invalid_argument("bad image: {}", why);
//
// Codes and their HTTP statuses are fixed in one place (http_status()). Bad input is
// never an exception or an assert: it is a Status that travels back to the caller.
#pragma once

#include <fmt/format.h>

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace seer {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // 400: the request or file is malformed
  kUnauthenticated,    // 401: a missing or wrong API key
  kNotFound,           // 404: unknown model, route or file
  kPayloadTooLarge,    // 413: over a byte, pixel or size limit
  kUnsupported,        // 415: a format, op or feature seer does not implement
  kUnavailable,        // 503 + Retry-After: queue full, model loading, server draining
  kResourceExhausted,  // 507: does not fit the memory budget
  kDeadlineExceeded,   // 504: timed out
  kCancelled,          // 499: the client went away
  kInternal,           // 500: a bug or an environment failure
};

// "InvalidArgument", "NotFound", ... (the names used in JSON error bodies).
std::string_view to_string(StatusCode code);

// The HTTP status for a code. The only place this mapping exists.
int http_status(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }

#define SEER_STATUS_FACTORY(fn, code_name)                                  \
  template <typename... Args>                                               \
  static Status fn(fmt::format_string<Args...> f, Args&&... args) {         \
    return Status(StatusCode::code_name, fmt::format(f, std::forward<Args>(args)...)); \
  }
  SEER_STATUS_FACTORY(invalid_argument, kInvalidArgument)
  SEER_STATUS_FACTORY(unauthenticated, kUnauthenticated)
  SEER_STATUS_FACTORY(not_found, kNotFound)
  SEER_STATUS_FACTORY(payload_too_large, kPayloadTooLarge)
  SEER_STATUS_FACTORY(unsupported, kUnsupported)
  SEER_STATUS_FACTORY(unavailable, kUnavailable)
  SEER_STATUS_FACTORY(resource_exhausted, kResourceExhausted)
  SEER_STATUS_FACTORY(deadline_exceeded, kDeadlineExceeded)
  SEER_STATUS_FACTORY(cancelled, kCancelled)
  SEER_STATUS_FACTORY(internal, kInternal)
#undef SEER_STATUS_FACTORY

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: unknown model 'x'" or "OK".
  std::string to_string() const;

  // Prefixes context to the message, keeping the code: "loading model.onnx: <message>".
  Status with_context(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or an error. Access value() only after checking ok().
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }
  StatusOr(T value) : v_(std::move(value)) {}
  template <typename U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::decay_t<U>, Status> &&
             !std::is_same_v<std::decay_t<U>, T>)
  StatusOr(U&& value) : v_(T(std::forward<U>(value))) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }
  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> v_;
};

#define SEER_CONCAT_INNER(a, b) a##b
#define SEER_CONCAT(a, b) SEER_CONCAT_INNER(a, b)

#define SEER_RETURN_IF_ERROR(expr)          \
  do {                                      \
    ::seer::Status _seer_st = (expr);       \
    if (!_seer_st.ok()) return _seer_st;    \
  } while (0)

#define SEER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#define SEER_ASSIGN_OR_RETURN(lhs, expr) \
  SEER_ASSIGN_OR_RETURN_IMPL(SEER_CONCAT(_seer_so_, __LINE__), lhs, expr)

}  // namespace seer
