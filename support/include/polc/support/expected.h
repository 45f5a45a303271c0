// A value or an error, for calls whose failure the caller reports.
// (std::expected is C++23; this is the small subset polc needs.)
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace polc {

// What failed, as data: the message (complete on its own, e.g. "endpoint
// web-1: map polc_policy_in: Operation not permitted") and, when known, the
// errno, the kernel object it concerns ("map polc_policy_in of endpoint
// web-1", "interface veth1", a pin path) and libbpf's log. errorText() and
// the CLI's JSON print every Error the same way.
struct Error {
  explicit Error(std::string message) : message(std::move(message)) {}
  Error(std::string message, std::optional<int> errnum, std::string object, std::string libbpfLog)
      : message(std::move(message)), errnum(errnum), object(std::move(object)),
        libbpfLog(std::move(libbpfLog)) {}

  std::string message;
  std::optional<int> errnum;
  std::string object;
  std::string libbpfLog;

  // The same error, its message prefixed (re-wrapping keeps the fields).
  Error withContext(const std::string& prefix) const {
    return {prefix + message, errnum, object, libbpfLog};
  }
};

// The message, then libbpf's log indented below it.
std::string errorText(const Error& error);

template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : state_(std::move(value)) {}
  Expected(Error error) : state_(std::move(error)) {}

  explicit operator bool() const { return std::holds_alternative<T>(state_); }
  bool ok() const { return bool(*this); }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const std::string& error() const { return std::get<Error>(state_).message; }
  // The whole error, to pass on with its fields.
  const Error& failure() const { return std::get<Error>(state_); }

private:
  std::variant<T, Error> state_;
};

// For calls that return nothing but may fail.
struct Ok {};
using Status = Expected<Ok>;
inline Status okStatus() {
  return Ok{};
}

} // namespace polc
