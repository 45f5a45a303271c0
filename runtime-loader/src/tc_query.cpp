#include "tc_query.h"

#include "polc/loader/loader.h"
#include "tc.h"

#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

namespace polc::runtime {

namespace {

constexpr size_t kReceiveBuffer = 32 * 1024;

// Appends one attribute to a message in `out`, padded to the netlink alignment.
void appendAttribute(std::string& out, uint16_t type, const void* data, size_t length) {
  rtattr attribute{};
  attribute.rta_type = type;
  attribute.rta_len = static_cast<unsigned short>(RTA_LENGTH(length));
  out.append(reinterpret_cast<const char*>(&attribute), sizeof attribute);
  out.append(static_cast<const char*>(data), length);
  out.append(RTA_ALIGN(attribute.rta_len) - attribute.rta_len, '\0');
}

// The TCA_BPF_ID inside a filter message's TCA_OPTIONS, if present.
std::optional<uint32_t> bpfProgramId(const nlmsghdr* message) {
  const auto* tc = static_cast<const tcmsg*>(NLMSG_DATA(message));
  int length = static_cast<int>(message->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof *tc));
  for (const auto* attribute = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(tc) +
                                                               NLMSG_ALIGN(sizeof *tc));
       RTA_OK(attribute, length); attribute = RTA_NEXT(attribute, length)) {
    if (attribute->rta_type != TCA_OPTIONS) continue;
    int optionsLength = static_cast<int>(RTA_PAYLOAD(attribute));
    for (const auto* option = static_cast<const rtattr*>(RTA_DATA(attribute));
         RTA_OK(option, optionsLength); option = RTA_NEXT(option, optionsLength))
      if (option->rta_type == TCA_BPF_ID && RTA_PAYLOAD(option) >= sizeof(uint32_t)) {
        uint32_t id = 0;
        std::memcpy(&id, RTA_DATA(option), sizeof id);
        return id;
      }
  }
  return std::nullopt;
}

} // namespace

Expected<TcFilterQuery> TcFilterQuery::open() {
  UniqueFd socket(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!socket.valid()) return Error{std::string("rtnetlink socket: ") + std::strerror(errno)};
  int one = 1; // replies to malformed requests say why; filter by ifindex strictly
  (void)::setsockopt(socket.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)::setsockopt(socket.get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    return Error{std::string("rtnetlink socket: bind: ") + std::strerror(errno)};
  TcFilterQuery query(std::move(socket));
  query.buffer_.resize(kReceiveBuffer);
  return query;
}

Expected<std::optional<uint32_t>> TcFilterQuery::programId(int ifindex, const std::string& hook) {
  uint32_t parentMinor = 0;
  if (hook == kHookTcIngress)
    parentMinor = TC_H_MIN_INGRESS;
  else if (hook == kHookTcEgress)
    parentMinor = TC_H_MIN_EGRESS;
  else
    return Error{"unknown hook \"" + hook + "\""};
  const auto where = hook + " of interface " + std::to_string(ifindex);

  // RTM_GETTFILTER for exactly polc's filter: the reply echoes it, or is an error.
  std::string request(NLMSG_HDRLEN, '\0');
  tcmsg tc{};
  tc.tcm_family = AF_UNSPEC;
  tc.tcm_ifindex = ifindex;
  tc.tcm_handle = loader::kTcFilterHandle;
  tc.tcm_parent = TC_H_MAKE(TC_H_CLSACT, parentMinor);
  tc.tcm_info = TC_H_MAKE(loader::kTcFilterPriority << 16, htons(ETH_P_ALL));
  request.append(reinterpret_cast<const char*>(&tc), sizeof tc);
  request.append(NLMSG_ALIGN(request.size()) - request.size(), '\0');
  appendAttribute(request, TCA_KIND, "bpf", sizeof "bpf");
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(request.size());
  header.nlmsg_type = RTM_GETTFILTER;
  header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ECHO | NLM_F_ACK;
  header.nlmsg_seq = ++sequence_;
  std::memcpy(request.data(), &header, sizeof header);
  if (::send(socket_.get(), request.data(), request.size(), 0) < 0)
    return Error{"querying " + where + ": " + std::strerror(errno)};

  // Replies until the acknowledgement (or error) of this request.
  std::optional<uint32_t> id;
  for (;;) {
    ssize_t received = ::recv(socket_.get(), buffer_.data(), buffer_.size(), 0);
    if (received < 0) {
      if (errno == EINTR) continue;
      return Error{"querying " + where + ": " + std::strerror(errno)};
    }
    int length = static_cast<int>(received);
    for (const auto* message = reinterpret_cast<const nlmsghdr*>(buffer_.data());
         NLMSG_OK(message, length); message = NLMSG_NEXT(message, length)) {
      if (message->nlmsg_seq != sequence_) continue; // a late reply to an earlier request
      if (message->nlmsg_type == NLMSG_ERROR) {
        const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(message));
        // ENOENT: no such filter; EINVAL: no clsact qdisc on the interface.
        if (error->error == 0 || error->error == -ENOENT || error->error == -EINVAL) return id;
        return Error{"querying " + where + ": " + std::strerror(-error->error)};
      }
      if (message->nlmsg_type == RTM_NEWTFILTER)
        if (auto found = bpfProgramId(message)) id = found;
    }
  }
}

} // namespace polc::runtime
