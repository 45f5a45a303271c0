#include "polc/driver/verify_build.h"

#include "polc/artifacts/manifest.h"
#include "polc/maps/inline_slots.h"
#include "polc/maps/libbpf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include <unistd.h>

namespace polc::driver {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> kernelUnavailable() {
  if (::geteuid() != 0) return "not running as root (loading programs needs CAP_BPF)";
  // A one-element array map is the cheapest proof that bpf() works here.
  int probe = bpf_map_create(BPF_MAP_TYPE_ARRAY, "polc_probe", 4, 4, 1, nullptr);
  if (probe < 0) return std::string("bpf(BPF_MAP_CREATE) failed: ") + std::strerror(errno);
  ::close(probe);
  return std::nullopt;
}

struct ObjectUse {
  uint32_t identity = 0; // of the first endpoint that attaches it
  size_t endpoints = 0;
  std::set<std::string> programs;
};

Status verifyObject(const fs::path& outDir, const std::string& object, const ObjectUse& use,
                    std::vector<VerifiedProgram>& out) {
  maps::LibbpfLogCapture log;
  const fs::path path = outDir / object;
  maps::BpfObjectPtr handle(bpf_object__open_file(path.c_str(), nullptr));
  if (!handle) return Error{maps::libbpfError("opening " + path.string(), -errno, log)};
  bpf_program* program = nullptr;
  bpf_object__for_each_program(program, handle.get()) {
    bpf_program__set_autoload(program, use.programs.contains(bpf_program__name(program)));
  }
  // The verifier's work does not depend on map sizes: keep the maps tiny.
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, handle.get()) {
    if (!bpf_map__is_internal(map)) bpf_map__set_max_entries(map, 1);
  }
  if (auto set =
          maps::setReadOnlyConfig(handle.get(), artifacts::kConfigEndpointIdentity, use.identity);
      !set)
    return Error{object + ": " + set.error()};
  // Shared by endpoints with different tables: verified with every slot live.
  if (auto filled = maps::fillInlineSlotsForVerification(handle.get()); !filled)
    return Error{object + ": " + filled.error()};
  if (int result = bpf_object__load(handle.get()); result != 0)
    return Error{maps::libbpfError("the verifier rejected " + object, result, log)};
  for (const auto& name : use.programs) {
    auto* loaded = bpf_object__find_program_by_name(handle.get(), name.c_str());
    if (!loaded) return Error{object + " has no program " + name};
    bpf_prog_info info{};
    __u32 length = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(loaded), &info, &length) != 0)
      return Error{object + ": " + name + ": BPF_OBJ_GET_INFO_BY_FD: " + std::strerror(errno)};
    out.push_back({object, name, use.endpoints, info.xlated_prog_len / 8, info.verified_insns});
  }
  return okStatus();
}

} // namespace

Expected<VerifierStats> verifyBuild(const fs::path& outDir) {
  auto manifest = artifacts::readManifest(outDir);
  if (!manifest) return Error{manifest.error()};
  std::map<std::string, ObjectUse> objects; // sorted by path
  for (const auto& node : manifest->nodes) {
    for (const auto& endpoint : node.endpoints) {
      if (!endpoint.object) continue;
      auto [use, isNew] = objects.try_emplace(*endpoint.object);
      if (isNew) use->second.identity = endpoint.identity;
      ++use->second.endpoints;
      if (endpoint.fromEndpointProgram) use->second.programs.insert(artifacts::kProgFromEndpoint);
      if (endpoint.toEndpointProgram) use->second.programs.insert(artifacts::kProgToEndpoint);
    }
  }
  VerifierStats stats;
  if (objects.empty()) return stats;
  if ((stats.unavailable = kernelUnavailable())) return stats;
  for (const auto& [object, use] : objects)
    if (auto status = verifyObject(outDir, object, use, stats.programs); !status)
      return Error{status.error()};
  return stats;
}

std::string verifierStatsText(const VerifierStats& stats) {
  std::ostringstream out;
  if (stats.unavailable) {
    out << "  n/a: " << *stats.unavailable << "\n";
    return out.str();
  }
  if (stats.programs.empty()) out << "  (no programs)\n";
  for (const auto& program : stats.programs) {
    out << "  " << program.object << " " << program.program << ": " << program.processedInstructions
        << " processed (" << std::fixed << std::setprecision(2)
        << (program.processedInstructions * 100.0 / kVerifierInstructionLimit)
        << "% of the limit), " << program.instructions << " insns, " << program.endpoints
        << " endpoint(s)\n";
  }
  return out.str();
}

nlohmann::json verifierStatsJson(const VerifierStats& stats) {
  nlohmann::json json{{"limit", kVerifierInstructionLimit}};
  if (stats.unavailable) {
    json["available"] = false;
    json["reason"] = *stats.unavailable;
    return json;
  }
  json["available"] = true;
  auto programs = nlohmann::json::array();
  for (const auto& program : stats.programs)
    programs.push_back({{"object", program.object},
                        {"program", program.program},
                        {"endpoints", program.endpoints},
                        {"instructions", program.instructions},
                        {"processed_instructions", program.processedInstructions}});
  json["programs"] = programs;
  return json;
}

} // namespace polc::driver
