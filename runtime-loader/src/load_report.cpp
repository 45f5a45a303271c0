// How `polc load` tells what it did, as text and as JSON.
#include "polc/loader/loader.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>

namespace polc::loader {

const char* toString(EndpointAction action) {
  switch (action) {
  case EndpointAction::Attached:
    return "attached";
  case EndpointAction::Replaced:
    return "replaced";
  case EndpointAction::TablesUpdated:
    return "tables-updated";
  case EndpointAction::Unchanged:
    return "unchanged";
  case EndpointAction::Detached:
    return "detached";
  }
  return "unknown";
}

namespace {

std::string changeText(const TableChange& change) {
  auto text = "+" + std::to_string(change.added) + "/-" + std::to_string(change.removed);
  if (change.changed) text += "/~" + std::to_string(change.changed);
  return text;
}

nlohmann::json changeJson(const TableChange& change) {
  return {{"added", change.added}, {"removed", change.removed}, {"changed", change.changed}};
}

std::string milliseconds(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

std::string shortRevision(const std::string& revision) {
  return revision.empty() ? "none" : revision.substr(0, 12);
}

} // namespace

std::string loadReportText(const LoadReport& report) {
  std::map<EndpointAction, size_t> counts;
  for (const auto& endpoint : report.endpoints) ++counts[endpoint.action];
  std::string summary;
  for (auto action :
       {EndpointAction::Attached, EndpointAction::Replaced, EndpointAction::TablesUpdated,
        EndpointAction::Unchanged, EndpointAction::Detached}) {
    if (!counts[action]) continue;
    summary +=
        (summary.empty() ? "" : ", ") + std::to_string(counts[action]) + " " + toString(action);
  }
  if (summary.empty()) summary = "no endpoints";
  std::string text = "polc: loaded node " + report.node + " revision " +
                     shortRevision(report.revision) + " (was " +
                     shortRevision(report.previousRevision) + "): " + summary + "; ipcache " +
                     changeText(report.ipcache) + " (" + std::to_string(report.ipcacheEntries) +
                     " entries), " + std::to_string(report.policyEntries) + " policy entries";
  if (!report.signedBy.empty()) text += "; signed by key " + report.signedBy;
  text += "\n";
  for (const auto& endpoint : report.endpoints) {
    text += "  " + endpoint.endpoint + "  " + endpoint.interface + "  " + toString(endpoint.action);
    if (endpoint.action != EndpointAction::Unchanged && endpoint.action != EndpointAction::Detached)
      text += "  ingress " + changeText(endpoint.ingress) + ", egress " +
              changeText(endpoint.egress) + " (" + std::to_string(endpoint.entries) + " entries)";
    text += "\n";
  }
  if (const auto& t = report.milliseconds; t.total() > 0)
    text += "  took " + milliseconds(t.total()) + " ms: read " + milliseconds(t.read) +
            ", prepare " + milliseconds(t.prepare) + ", switch " + milliseconds(t.switched) +
            ", commit " + milliseconds(t.commit) + "\n";
  return text;
}

std::string loadReportJson(const LoadReport& report) {
  auto endpoints = nlohmann::json::array();
  for (const auto& e : report.endpoints)
    endpoints.push_back({{"endpoint", e.endpoint},
                         {"interface", e.interface},
                         {"action", toString(e.action)},
                         {"ingress", changeJson(e.ingress)},
                         {"egress", changeJson(e.egress)},
                         {"entries", e.entries}});
  auto attached = nlohmann::json::array();
  for (const auto& a : report.attached)
    attached.push_back({{"endpoint", a.endpoint},
                        {"interface", a.interface},
                        {"hook", a.hook},
                        {"program", a.program},
                        {"program_id", a.programId}});
  return nlohmann::json{
      {"ok", true},
      {"node", report.node},
      {"revision", report.revision},
      {"previous_revision", report.previousRevision},
      {"signed_by", report.signedBy.empty() ? nlohmann::json() : nlohmann::json(report.signedBy)},
      {"endpoints", endpoints},
      {"attached", attached},
      {"ipcache", changeJson(report.ipcache)},
      {"services", changeJson(report.services)},
      {"service_frontends", report.serviceFrontends},
      {"policy_entries", report.policyEntries},
      {"ipcache_entries", report.ipcacheEntries},
      {"tables_diffed", report.tablesDiffed},
      {"milliseconds",
       {{"read", report.milliseconds.read},
        {"prepare", report.milliseconds.prepare},
        {"switch", report.milliseconds.switched},
        {"commit", report.milliseconds.commit},
        {"total", report.milliseconds.total()}}}}
      .dump(2);
}

} // namespace polc::loader
