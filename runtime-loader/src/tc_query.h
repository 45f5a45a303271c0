// Which program polc's tc filter runs on a hook, for many hooks at once:
// one rtnetlink socket for every query (libbpf's bpf_tc_query opens and
// sets up a socket per call, which dominates checking a node of thousands
// of hooks). Reads only; attaching and detaching stay in tc.h.
#pragma once

#include "polc/support/expected.h"
#include "unique_fd.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polc::runtime {

class TcFilterQuery {
public:
  // A socket of the calling thread's network namespace.
  static Expected<TcFilterQuery> open();

  // The id of the program polc's filter (kTcFilterHandle, kTcFilterPriority)
  // runs at the hook (kHookTcIngress or kHookTcEgress) of the interface;
  // nullopt when there is no such filter or no clsact qdisc.
  Expected<std::optional<uint32_t>> programId(int ifindex, const std::string& hook);

private:
  explicit TcFilterQuery(UniqueFd socket) : socket_(std::move(socket)) {}
  UniqueFd socket_;
  uint32_t sequence_ = 0;
  std::vector<char> buffer_;
};

} // namespace polc::runtime
