// The data a build hands to the loader: policy tables and the ipcache, as
// plain values with a stable, sorted JSON form (reviewable as a diff).
// The kernel layouts they are turned into live in bpf/lib/polc_structs.h.
#pragma once

#include "polc/support/expected.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace polc::artifacts {

// == POLC_VERDICT_*. Audit: an audit policy's deny, where the enforcing
// policies allow: the packet passes and is reported with verdict audit.
enum class Verdict : uint8_t { Allow = 1, Audit = 2, Deny = 3 };
// Which verdict wins when entries of one key or of both lookups meet:
// deny over audit over allow (as the datapath combines them).
inline int precedence(Verdict verdict) {
  return int(verdict);
}
enum class Direction : uint8_t { Ingress, Egress };

std::string_view toString(Verdict);
std::string_view toString(Direction);

// One LPM entry of a policy table. protocol == 0 matches any protocol (and
// then any port); portPrefixBits == 0 matches any port of the protocol.
struct PolicyEntry {
  uint32_t identity = 0; // 0 = any peer
  uint8_t protocol = 0;  // IPPROTO_*
  uint16_t port = 0;     // host byte order; ICMP: type << 8 | code
  uint8_t portPrefixBits = 0;
  Verdict verdict = Verdict::Allow;
  uint32_t ruleId = 0;

  // The LPM prefix length of the kernel key (see polc_policy_key).
  uint32_t keyPrefixLength() const;
  auto operator<=>(const PolicyEntry&) const = default;
};

// One endpoint's table for one direction. It names neither: the manifest
// says whose it is, so that endpoints with the same policy share one file.
struct PolicyTable {
  bool isolated = false;            // no match -> deny when isolated
  std::vector<PolicyEntry> entries; // sorted
  bool auditIsolated = false;       // no match -> audit (isolated by audit policies only)
  bool operator==(const PolicyTable&) const = default;
};

// Where a table entry came from (its `rule`), for review and `status`:
// every rule of the build once, in rules.json, rather than in each table
// that uses it (a rule applies to many endpoints, and its location moves
// with every edit above it).
struct RuleRef {
  uint32_t id = 0;
  std::string policy;   // policy name
  std::string text;     // the rule as written, normalized
  std::string location; // file:line:col
  bool audit = false;   // a rule of an audit policy
  bool operator==(const RuleRef&) const = default;
};

struct RuleList {
  std::vector<RuleRef> rules; // in source order; ids from what each rule is (driver/rule_ids.h)
  bool operator==(const RuleList&) const = default;
};

struct IpcacheEntry {
  uint8_t family = 4;  // 4 or 6
  std::string address; // textual address, e.g. "10.0.1.10"
  uint8_t prefixLength = 32;
  uint32_t identity = 0;
  auto operator<=>(const IpcacheEntry&) const = default;
};

struct Ipcache {
  std::vector<IpcacheEntry> entries; // sorted
  bool operator==(const Ipcache&) const = default;
};

nlohmann::json toJson(const PolicyTable&);
nlohmann::json toJson(const Ipcache&);
nlohmann::json toJson(const RuleList&);
// The same JSON as toJson(x), written directly (a build writes millions of
// entries, and a JSON tree per entry costs most of its time), with one
// entry per line so that a load parses only the lines that changed
// (table_lines.h).
std::string toJsonText(const PolicyTable&);
std::string toJsonText(const Ipcache&);
std::string toJsonText(const RuleList&);
Expected<PolicyTable> policyTableFromJson(const nlohmann::json&);
Expected<Ipcache> ipcacheFromJson(const nlohmann::json&);
Expected<RuleList> ruleListFromJson(const nlohmann::json&);
// One member of "entries", checked as in the whole table.
Expected<PolicyEntry> policyEntryFromJson(const nlohmann::json&);
Expected<IpcacheEntry> ipcacheEntryFromJson(const nlohmann::json&);

} // namespace polc::artifacts
