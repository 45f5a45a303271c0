#include "polc/support/ip_prefix.h"

#include <arpa/inet.h>

#include <charconv>

namespace polc {

namespace {

bool bitSet(const std::array<uint8_t, 16>& bytes, unsigned bit) {
  return bytes[bit / 8] & (0x80 >> (bit % 8));
}

} // namespace

bool IpPrefix::contains(const IpPrefix& other) const {
  if (family != other.family || length > other.length) return false;
  for (unsigned bit = 0; bit < length; ++bit)
    if (bitSet(bytes, bit) != bitSet(other.bytes, bit)) return false;
  return true;
}

std::string IpPrefix::addressText() const {
  char buffer[INET6_ADDRSTRLEN];
  inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buffer, sizeof buffer);
  return buffer;
}

std::string IpPrefix::text(bool bareHost) const {
  if (bareHost && isHost()) return addressText();
  return addressText() + "/" + std::to_string(length);
}

std::optional<IpPrefix> parseAddress(std::string_view text) {
  IpPrefix prefix;
  std::string copy(text);
  prefix.family = copy.find(':') == std::string::npos ? 4 : 6;
  if (inet_pton(prefix.family == 4 ? AF_INET : AF_INET6, copy.c_str(), prefix.bytes.data()) != 1)
    return std::nullopt;
  prefix.length = prefix.maxLength();
  return prefix;
}

std::optional<IpPrefix> parsePrefix(std::string_view text, PrefixError* error) {
  auto fail = [&](std::string message, std::string hint) -> std::optional<IpPrefix> {
    if (error) *error = {std::move(message), std::move(hint)};
    return std::nullopt;
  };
  auto slash = text.find('/');
  auto prefix = parseAddress(text.substr(0, slash));
  if (!prefix)
    return fail("'" + std::string(text) + "' is not an IPv4 or IPv6 prefix",
                "write a prefix such as 10.0.0.0/8 or fd00::/64");
  if (slash == std::string_view::npos) return prefix;
  auto digits = text.substr(slash + 1);
  unsigned length = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
      length > prefix->maxLength())
    return fail("bad prefix length in '" + std::string(text) + "'",
                "an IPv" + std::to_string(prefix->family) + " prefix length is 0 to " +
                    std::to_string(prefix->maxLength()));
  IpPrefix masked = *prefix;
  masked.length = uint8_t(length);
  for (unsigned bit = length; bit < 128; ++bit)
    masked.bytes[bit / 8] &= uint8_t(~(0x80 >> (bit % 8)));
  if (masked.bytes != prefix->bytes)
    return fail("'" + std::string(text) + "' has host bits set after the prefix length",
                "did you mean " + masked.text() + "?");
  return masked;
}

} // namespace polc
