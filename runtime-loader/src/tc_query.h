// Which program polc's tc filter runs on a hook, for many hooks at once:
// one rtnetlink socket for every query (libbpf's bpf_tc_query opens and
// sets up a socket per call, which dominates checking a node of thousands
// of hooks). Reads only; attaching and detaching stay in tc.h.
#pragma once

#include "polc/support/expected.h"
#include "polc/support/unique_fd.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

struct nlmsghdr;

namespace polc::runtime {

class TcFilterQuery {
public:
  // A socket of the calling thread's network namespace.
  static Expected<TcFilterQuery> open();

  struct Hook {
    int ifindex = 0;
    std::string hook; // kHookTcIngress or kHookTcEgress
  };
  // For each hook, the id of the program polc's filter (kTcFilterHandle,
  // kTcFilterPriority) runs there; nullopt when there is no such filter or
  // no clsact qdisc. The requests go out in batches, many per system call.
  Expected<std::vector<std::optional<uint32_t>>> programIds(const std::vector<Hook>& hooks);
  Expected<std::optional<uint32_t>> programId(int ifindex, const std::string& hook);

  // The indexes of the interfaces that have a clsact qdisc (one dump of
  // every qdisc of the namespace).
  Expected<std::set<int>> clsactInterfaces();
  // Whether any filter at all, polc's or another's, is on the hook.
  Expected<bool> anyFilter(int ifindex, const std::string& hook);

private:
  explicit TcFilterQuery(UniqueFd socket) : socket_(std::move(socket)) {}
  // Sends the requests for hooks[first, first + count) in one message buffer
  // and fills their answers from the replies.
  Status queryBatch(const std::vector<Hook>& hooks, size_t first, size_t count,
                    std::vector<std::optional<uint32_t>>& ids);
  // Sends a dump request of `type` (RTM_GETQDISC, RTM_GETTFILTER) for the
  // interface and parent (0: all) and hands every message of the answer to
  // `each`, until the dump is done.
  Status dump(uint16_t type, int ifindex, uint32_t parent,
              const std::function<void(const nlmsghdr*)>& each);

  UniqueFd socket_;
  uint32_t sequence_ = 0;
  std::vector<char> buffer_;
};

} // namespace polc::runtime
