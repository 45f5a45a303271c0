// A value or an error message, for calls whose failure the caller reports.
// (std::expected is C++23; this is the small subset polc needs.)
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace polc {

struct Error {
  std::string message;
};

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
