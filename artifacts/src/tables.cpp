#include "polc/artifacts/tables.h"

#include "polc/support/protocol.h"

#include "polc_structs.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>

namespace polc::artifacts {

using nlohmann::json;

std::string_view toString(Verdict verdict) {
  return verdict == Verdict::Allow ? "allow" : verdict == Verdict::Deny ? "deny" : "audit";
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
  } catch (const std::exception& e) { // json type errors, stoi on a bad prefix length
    return Error{std::string("malformed ") + what + ": " + e.what()};
  }
}

// A field that must be an integer in [0, max]: nlohmann's get<uint16_t>
// would silently truncate 70000 to 4464 (and a float to its integer part).
template <typename Integer>
Integer boundedInteger(const json& object, const char* key, Integer max) {
  const auto& value = object.at(key);
  if (!value.is_number_integer() ||
      (value.is_number_unsigned()
           ? value.get<uint64_t>() > uint64_t(max)
           : value.get<int64_t>() < 0 || uint64_t(value.get<int64_t>()) > uint64_t(max)))
    throw std::out_of_range("\"" + std::string(key) + "\" is " + value.dump() +
                            ", not an integer from 0 to " + std::to_string(uint64_t(max)));
  return value.get<Integer>();
}

// A prefix length written in decimal digits only ("32", never "32x" or "+3").
std::optional<int> prefixLengthOf(std::string_view text) {
  if (text.empty() || text.size() > 3 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoi(std::string(text));
}

// One entry; throws on a missing or mistyped member (callers guard).
Expected<PolicyEntry> policyEntryFromJsonUnguarded(const json& e) {
  PolicyEntry entry;
  entry.identity = boundedInteger<uint32_t>(e, "identity", UINT32_MAX);
  auto protocolText = e.at("protocol").get<std::string>();
  auto protocol = protocolFromName(protocolText);
  if (!protocol) return Error{"unknown protocol \"" + protocolText + "\""};
  entry.protocol = *protocol;
  entry.port = boundedInteger<uint16_t>(e, "port", UINT16_MAX);
  entry.portPrefixBits = boundedInteger<uint8_t>(e, "port_prefix_bits", 16);
  // Only the canonical form the compiler writes: a port with bits below
  // its prefix, or a port without a protocol, would be changed by the
  // map's key masking instead of loaded as written.
  if (entry.protocol == 0 && (entry.port != 0 || entry.portPrefixBits != 0))
    return Error{"entry for peer " + std::to_string(entry.identity) +
                 ": a port without a protocol"};
  if (const uint32_t hostBits = 16u - entry.portPrefixBits;
      hostBits == 16 ? entry.port != 0 : (entry.port & ((1u << hostBits) - 1)) != 0)
    return Error{"entry for peer " + std::to_string(entry.identity) + ": port " +
                 std::to_string(entry.port) + " has bits set below its prefix of " +
                 std::to_string(entry.portPrefixBits) + " bits"};
  auto verdict = e.at("verdict").get<std::string>();
  if (verdict == "allow")
    entry.verdict = Verdict::Allow;
  else if (verdict == "deny")
    entry.verdict = Verdict::Deny;
  else if (verdict == "audit")
    entry.verdict = Verdict::Audit;
  else
    return Error{"unknown verdict \"" + verdict + "\""};
  entry.ruleId = boundedInteger<uint32_t>(e, "rule", UINT32_MAX);
  return entry;
}

Expected<IpcacheEntry> ipcacheEntryFromJsonUnguarded(const json& e) {
  auto prefix = e.at("prefix").get<std::string>();
  auto slash = prefix.find('/');
  if (slash == std::string::npos) return Error{"ipcache prefix without length: " + prefix};
  IpcacheEntry entry;
  entry.address = prefix.substr(0, slash);
  entry.family = entry.address.find(':') == std::string::npos ? 4 : 6;
  auto length = prefixLengthOf(std::string_view(prefix).substr(slash + 1));
  if (!length || *length > (entry.family == 4 ? 32 : 128))
    return Error{"ipcache prefix length out of range: " + prefix};
  entry.prefixLength = static_cast<uint8_t>(*length);
  entry.identity = boundedInteger<uint32_t>(e, "identity", UINT32_MAX);
  if (entry.identity == POLC_IDENTITY_ANY)
    return Error{"ipcache entry " + prefix + ": identity 0 is the wildcard, never an address's"};
  return entry;
}

} // namespace

Expected<PolicyEntry> policyEntryFromJson(const json& j) {
  return guarded("policy table entry", [&] { return policyEntryFromJsonUnguarded(j); });
}

Expected<IpcacheEntry> ipcacheEntryFromJson(const json& j) {
  return guarded("ipcache entry", [&] { return ipcacheEntryFromJsonUnguarded(j); });
}

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
  json object = {{"entries", entries}, {"isolated", table.isolated}};
  // Only when set, so that tables without audit keep their bytes (and names).
  if (table.auditIsolated) object["audit_isolated"] = true;
  return object;
}

// Members a table of an older build also has ("endpoint", "direction",
// "rules") are ignored: such a build still loads.
Expected<PolicyTable> policyTableFromJson(const json& j) {
  return guarded("policy table", [&]() -> Expected<PolicyTable> {
    PolicyTable table;
    table.isolated = j.at("isolated").get<bool>();
    table.auditIsolated = j.value("audit_isolated", false);
    if (table.isolated && table.auditIsolated)
      return Error{"a table is isolated or isolated in audit, not both"};
    for (const auto& e : j.at("entries")) {
      auto entry = policyEntryFromJsonUnguarded(e);
      if (!entry) return Error{entry.error()};
      table.entries.push_back(*entry);
    }
    return table;
  });
}

json toJson(const RuleList& list) {
  json rules = json::array();
  for (const auto& r : list.rules) {
    json rule = {{"id", r.id}, {"policy", r.policy}, {"text", r.text}, {"location", r.location}};
    if (r.audit) rule["audit"] = true; // only when set: rule lists without audit keep their bytes
    rules.push_back(std::move(rule));
  }
  return {{"rules", rules}};
}

Expected<RuleList> ruleListFromJson(const json& j) {
  return guarded("rule list", [&]() -> Expected<RuleList> {
    RuleList list;
    for (const auto& r : j.at("rules"))
      list.rules.push_back({boundedInteger<uint32_t>(r, "id", UINT32_MAX),
                            r.at("policy").get<std::string>(), r.at("text").get<std::string>(),
                            r.at("location").get<std::string>(), r.value("audit", false)});
    return list;
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
      auto entry = ipcacheEntryFromJsonUnguarded(e);
      if (!entry) return Error{entry.error()};
      ipcache.entries.push_back(*entry);
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

// An array of objects at indent 2, one object per line, so that a diff of
// two revisions (git's, or a load's: table_lines.h) shows one line per
// changed entry; `item` appends one object's members.
template <typename T, typename F>
void appendArray(std::string& out, const std::vector<T>& items, F item) {
  if (items.empty()) {
    out += "[]";
    return;
  }
  out += "[\n";
  for (size_t i = 0; i < items.size(); ++i) {
    out += i == 0 ? "    {" : "},\n    {";
    item(items[i]);
  }
  out += "}\n  ]";
}

} // namespace

std::string toJsonText(const PolicyTable& table) {
  std::string out = table.auditIsolated ? "{\n  \"audit_isolated\": true,\n  \"entries\": "
                                        : "{\n  \"entries\": ";
  out.reserve(out.size() + table.entries.size() * 112 + 32);
  appendArray(out, table.entries, [&](const PolicyEntry& e) {
    out += "\"identity\": " + std::to_string(e.identity) + ", \"port\": " + std::to_string(e.port) +
           ", \"port_prefix_bits\": " + std::to_string(e.portPrefixBits) + ", \"protocol\": ";
    appendString(out, protocolName(e.protocol));
    out += ", \"rule\": " + std::to_string(e.ruleId) + ", \"verdict\": ";
    appendString(out, toString(e.verdict));
  });
  out += ",\n  \"isolated\": ";
  out += table.isolated ? "true" : "false";
  out += "\n}\n";
  return out;
}

std::string toJsonText(const RuleList& list) {
  std::string out = "{\n  \"rules\": ";
  appendArray(out, list.rules, [&](const RuleRef& r) {
    if (r.audit) out += "\"audit\": true, ";
    out += "\"id\": " + std::to_string(r.id) + ", \"location\": ";
    appendString(out, r.location);
    out += ", \"policy\": ";
    appendString(out, r.policy);
    out += ", \"text\": ";
    appendString(out, r.text);
  });
  out += "\n}\n";
  return out;
}

std::string toJsonText(const Ipcache& ipcache) {
  std::string out = "{\n  \"entries\": ";
  out.reserve(ipcache.entries.size() * 56 + 32);
  appendArray(out, ipcache.entries, [&](const IpcacheEntry& e) {
    out += "\"identity\": " + std::to_string(e.identity) + ", \"prefix\": ";
    appendString(out, e.address + "/" + std::to_string(e.prefixLength));
  });
  out += "\n}\n";
  return out;
}

} // namespace polc::artifacts
