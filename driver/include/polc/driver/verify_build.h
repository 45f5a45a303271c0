// Asks the kernel's verifier about every program of a build output: loads
// each distinct object (nothing attached, nothing pinned) and reads how many
// instructions the verifier processed, against the kernel's limit.
#pragma once

#include "polc/support/expected.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace polc::driver {

// The kernel's cap on instructions processed per program (BPF_COMPLEXITY_LIMIT_INSNS).
inline constexpr uint32_t kVerifierInstructionLimit = 1'000'000;

struct VerifiedProgram {
  std::string object;                 // "objects/<sha256>.o"
  std::string program;                // "polc_from_ep" or "polc_to_ep"
  size_t endpoints = 0;               // endpoints that attach it
  uint32_t instructions = 0;          // after the verifier's rewrites
  uint32_t processedInstructions = 0; // the verifier's "processed N insns"
};

struct VerifierStats {
  // Why the kernel could not be asked (not root, no bpf()): then programs is empty.
  std::optional<std::string> unavailable;
  std::vector<VerifiedProgram> programs; // by object, then program name
};

// Loads every object that the build's manifest.json names, each program
// with the identity of an endpoint that uses it. A rejected program is an
// error carrying the verifier's log.
Expected<VerifierStats> verifyBuild(const std::filesystem::path& outDir);

std::string verifierStatsText(const VerifierStats&);
nlohmann::json verifierStatsJson(const VerifierStats&);

} // namespace polc::driver
