// IPv4 and IPv6 addresses and prefixes as values: parsed once, compared,
// tested for containment and printed in canonical form. Used by the
// topology loader, the parser (cidr peers), sema and the ipcache pass.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polc {

struct IpPrefix {
  uint8_t family = 4;              // 4 or 6
  std::array<uint8_t, 16> bytes{}; // network order; IPv4 in bytes[0..3]; host bits zero
  uint8_t length = 32;             // prefix length in bits

  uint8_t maxLength() const { return family == 4 ? 32 : 128; }
  bool isHost() const { return length == maxLength(); }
  // Does this prefix contain every address of `other`?
  bool contains(const IpPrefix& other) const;
  bool overlaps(const IpPrefix& other) const { return contains(other) || other.contains(*this); }
  // "10.0.0.0/8", "fd00::/64"; host prefixes print without the length
  // when `bareHost` is set ("10.0.1.10").
  std::string text(bool bareHost = false) const;
  // The address part only, canonical ("fd00::10").
  std::string addressText() const;

  auto operator<=>(const IpPrefix&) const = default;
};

// A host address ("10.0.1.10", "FD00:0::10"): a full-length prefix.
std::optional<IpPrefix> parseAddress(std::string_view text);

// Why a prefix text was refused, for a diagnostic.
struct PrefixError {
  std::string message;
  std::string hint;
};

// "10.0.0.0/8", "fd00::/64", or a bare address (a host prefix). Host bits
// that are set are an error (10.0.0.1/8), with the right prefix as hint.
std::optional<IpPrefix> parsePrefix(std::string_view text, PrefixError* error = nullptr);

} // namespace polc
