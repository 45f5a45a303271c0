#include "polc/artifacts/tables.h"

#include "polc/support/protocol.h"

#include "polc_structs.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace polc::artifacts {

using nlohmann::json;

std::string_view toString(Verdict verdict) {
  return verdict == Verdict::Allow ? "allow" : "deny";
}
std::string_view toString(Direction direction) {
  return direction == Direction::Ingress ? "ingress" : "egress";
}

uint32_t PolicyEntry::keyPrefixLength() const {
  if (protocol == 0) return POLC_POLICY_PREFIX_IDENTITY;
  return POLC_POLICY_PREFIX_PROTOCOL + portPrefixBits;
}

namespace {

// Parse errors become Error values; nothing throws past this file.
template <typename F> auto guarded(const char* what, F&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const std::exception& e) { // json type errors, integers out of range
    return Error{std::string("malformed ") + what + ": " + e.what()};
  }
}

// An integer member in [0, max(Integer)]. nlohmann's get<uint16_t>() would
// wrap a larger one, or a negative one, and cast a float (1e76 as a port:
// undefined behaviour, found by fuzz_manifest).
template <typename Integer> Integer integerAt(const json& object, const char* key) {
  const auto& value = object.at(key);
  bool inRange = value.is_number_unsigned()
                     ? value.get<uint64_t>() <= std::numeric_limits<Integer>::max()
                     : value.is_number_integer() && value.get<int64_t>() >= 0 &&
                           uint64_t(value.get<int64_t>()) <= std::numeric_limits<Integer>::max();
  if (!inRange)
    throw std::out_of_range("\"" + std::string(key) + "\" is not an integer from 0 to " +
                            std::to_string(std::numeric_limits<Integer>::max()));
  return static_cast<Integer>(value.get<uint64_t>());
}

} // namespace

json toJson(const PolicyTable& table) {
  json entries = json::array();
  for (const auto& e : table.entries) {
    entries.push_back({{"identity", e.identity},
                       {"protocol", protocolName(e.protocol)},
                       {"port", e.port},
                       {"port_prefix_bits", e.portPrefixBits},
                       {"verdict", toString(e.verdict)},
                       {"rule", e.ruleId}});
  }
  json rules = json::array();
  for (const auto& r : table.rules) {
    rules.push_back(
        {{"id", r.id}, {"policy", r.policy}, {"text", r.text}, {"location", r.location}});
  }
  return {{"endpoint", table.endpoint},
          {"direction", toString(table.direction)},
          {"isolated", table.isolated},
          {"entries", entries},
          {"rules", rules}};
}

Expected<PolicyTable> policyTableFromJson(const json& j) {
  return guarded("policy table", [&]() -> Expected<PolicyTable> {
    PolicyTable table;
    table.endpoint = j.at("endpoint").get<std::string>();
    auto direction = j.at("direction").get<std::string>();
    if (direction != "ingress" && direction != "egress")
      return Error{"unknown direction \"" + direction + "\""};
    table.direction = direction == "ingress" ? Direction::Ingress : Direction::Egress;
    table.isolated = j.at("isolated").get<bool>();
    for (const auto& e : j.at("entries")) {
      PolicyEntry entry;
      entry.identity = integerAt<uint32_t>(e, "identity");
      auto protocolText = e.at("protocol").get<std::string>();
      auto protocol = protocolFromName(protocolText);
      if (!protocol) return Error{"unknown protocol \"" + protocolText + "\""};
      entry.protocol = *protocol;
      entry.port = integerAt<uint16_t>(e, "port");
      entry.portPrefixBits = integerAt<uint8_t>(e, "port_prefix_bits");
      if (entry.portPrefixBits > 16) return Error{"port_prefix_bits above 16"};
      auto verdict = e.at("verdict").get<std::string>();
      if (verdict != "allow" && verdict != "deny")
        return Error{"unknown verdict \"" + verdict + "\""};
      entry.verdict = verdict == "allow" ? Verdict::Allow : Verdict::Deny;
      entry.ruleId = integerAt<uint32_t>(e, "rule");
      table.entries.push_back(entry);
    }
    for (const auto& r : j.at("rules")) {
      table.rules.push_back({integerAt<uint32_t>(r, "id"), r.at("policy").get<std::string>(),
                             r.at("text").get<std::string>(), r.at("location").get<std::string>()});
    }
    return table;
  });
}

json toJson(const Ipcache& ipcache) {
  json entries = json::array();
  for (const auto& e : ipcache.entries) {
    entries.push_back(
        {{"prefix", e.address + "/" + std::to_string(e.prefixLength)}, {"identity", e.identity}});
  }
  return {{"entries", entries}};
}

Expected<Ipcache> ipcacheFromJson(const json& j) {
  return guarded("ipcache", [&]() -> Expected<Ipcache> {
    Ipcache ipcache;
    for (const auto& e : j.at("entries")) {
      auto prefix = e.at("prefix").get<std::string>();
      auto slash = prefix.find('/');
      if (slash == std::string::npos) return Error{"ipcache prefix without length: " + prefix};
      IpcacheEntry entry;
      entry.address = prefix.substr(0, slash);
      entry.family = entry.address.find(':') == std::string::npos ? 4 : 6;
      // Digits only: stoi took "8x" as 8 and " 8" too.
      int length = -1;
      auto digits = std::string_view(prefix).substr(slash + 1);
      auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), length);
      if (parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size())
        return Error{"ipcache prefix length is not a number: " + prefix};
      if (length < 0 || length > (entry.family == 4 ? 32 : 128))
        return Error{"ipcache prefix length out of range: " + prefix};
      entry.prefixLength = static_cast<uint8_t>(length);
      entry.identity = integerAt<uint32_t>(e, "identity");
      ipcache.entries.push_back(entry);
    }
    return ipcache;
  });
}

} // namespace polc::artifacts

namespace polc::artifacts {

namespace {

// A JSON string as nlohmann::json::dump writes it; plain ASCII directly,
// anything to escape (or to check as UTF-8) through the library.
void appendString(std::string& out, std::string_view text) {
  bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
  });
  if (!plain) {
    // As dumpJson: a byte that is not UTF-8 (a rule's location in a file
    // named so) becomes U+FFFD rather than an exception.
    out += json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

// A non-empty array of objects at indent 2, as dump(2) lays it out; `item`
// appends one object's members at indent 6.
template <typename T, typename F>
void appendArray(std::string& out, const std::vector<T>& items, F item) {
  if (items.empty()) {
    out += "[]";
    return;
  }
  out += "[\n";
  for (size_t i = 0; i < items.size(); ++i) {
    out += i == 0 ? "    {\n" : ",\n    {\n";
    item(items[i]);
    out += "\n    }";
  }
  out += "\n  ]";
}

} // namespace

std::string toJsonText(const PolicyTable& table) {
  std::string out = "{\n  \"direction\": ";
  appendString(out, toString(table.direction));
  out += ",\n  \"endpoint\": ";
  appendString(out, table.endpoint);
  out += ",\n  \"entries\": ";
  out.reserve(out.size() + table.entries.size() * 160);
  appendArray(out, table.entries, [&](const PolicyEntry& e) {
    out += "      \"identity\": " + std::to_string(e.identity) +
           ",\n      \"port\": " + std::to_string(e.port) +
           ",\n      \"port_prefix_bits\": " + std::to_string(e.portPrefixBits) +
           ",\n      \"protocol\": ";
    appendString(out, protocolName(e.protocol));
    out += ",\n      \"rule\": " + std::to_string(e.ruleId) + ",\n      \"verdict\": ";
    appendString(out, toString(e.verdict));
  });
  out += ",\n  \"isolated\": ";
  out += table.isolated ? "true" : "false";
  out += ",\n  \"rules\": ";
  appendArray(out, table.rules, [&](const RuleRef& r) {
    out += "      \"id\": " + std::to_string(r.id) + ",\n      \"location\": ";
    appendString(out, r.location);
    out += ",\n      \"policy\": ";
    appendString(out, r.policy);
    out += ",\n      \"text\": ";
    appendString(out, r.text);
  });
  out += "\n}\n";
  return out;
}

std::string toJsonText(const Ipcache& ipcache) {
  std::string out = "{\n  \"entries\": ";
  out.reserve(ipcache.entries.size() * 72 + 32);
  appendArray(out, ipcache.entries, [&](const IpcacheEntry& e) {
    out += "      \"identity\": " + std::to_string(e.identity) + ",\n      \"prefix\": ";
    appendString(out, e.address + "/" + std::to_string(e.prefixLength));
  });
  out += "\n}\n";
  return out;
}

} // namespace polc::artifacts
