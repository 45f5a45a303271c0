#include "tc_query.h"

#include "polc/loader/loader.h"
#include "tc.h"

#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace polc::runtime {

namespace {

// NLMSG_OK without its comparison of the u32 length with an int, which
// clang's -Wsign-compare reports: the same test, with the signs explicit.
bool messageFits(const nlmsghdr* message, int length) {
  return length >= static_cast<int>(sizeof(nlmsghdr)) && message->nlmsg_len >= sizeof(nlmsghdr) &&
         message->nlmsg_len <= static_cast<unsigned>(length);
}

constexpr size_t kMaxBatch = 16;
constexpr size_t kReplySize = 8192; // a filter's echo is well under 1 kB

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

// The TCA_KIND of a tc message ("clsact", "bpf", ...).
std::string_view kindOf(const nlmsghdr* message) {
  const auto* tc = static_cast<const tcmsg*>(NLMSG_DATA(message));
  int length = static_cast<int>(message->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof *tc));
  for (const auto* attribute = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(tc) +
                                                               NLMSG_ALIGN(sizeof *tc));
       RTA_OK(attribute, length); attribute = RTA_NEXT(attribute, length))
    if (attribute->rta_type == TCA_KIND)
      return std::string_view(
          static_cast<const char*>(RTA_DATA(attribute)),
          ::strnlen(static_cast<const char*>(RTA_DATA(attribute)), RTA_PAYLOAD(attribute)));
  return {};
}

Expected<uint32_t> clsactParent(const std::string& hook) {
  if (hook == kHookTcIngress) return TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
  if (hook == kHookTcEgress) return TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
  return Error{"unknown hook \"" + hook + "\""};
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
  query.buffer_.resize(kMaxBatch * kReplySize);
  return query;
}

Expected<std::optional<uint32_t>> TcFilterQuery::programId(int ifindex, const std::string& hook) {
  auto ids = programIds({{ifindex, hook}});
  if (!ids) return Error{ids.error()};
  return ids->front();
}

Expected<std::vector<std::optional<uint32_t>>>
TcFilterQuery::programIds(const std::vector<Hook>& hooks) {
  // The replies of a batch wait in the socket's receive queue until read;
  // each is a buffer of a few kB there, so the queue's default size (about
  // 200 kB) limits a batch.
  constexpr size_t kBatch = kMaxBatch;
  std::vector<std::optional<uint32_t>> ids(hooks.size());
  for (size_t first = 0; first < hooks.size(); first += kBatch)
    if (auto done = queryBatch(hooks, first, std::min(kBatch, hooks.size() - first), ids); !done)
      return Error{done.error()};
  return ids;
}

Status TcFilterQuery::queryBatch(const std::vector<Hook>& hooks, size_t first, size_t count,
                                 std::vector<std::optional<uint32_t>>& ids) {
  // One RTM_GETTFILTER per hook for exactly polc's filter: the kernel answers
  // each with the filter or with an error, one message either way (no
  // acknowledgement asked: it would double the kernel's work).
  const uint32_t firstSequence = sequence_ + 1;
  std::string requests;
  for (size_t i = first; i < first + count; ++i) {
    uint32_t parentMinor = 0;
    if (hooks[i].hook == kHookTcIngress)
      parentMinor = TC_H_MIN_INGRESS;
    else if (hooks[i].hook == kHookTcEgress)
      parentMinor = TC_H_MIN_EGRESS;
    else
      return Error{"unknown hook \"" + hooks[i].hook + "\""};
    std::string request(NLMSG_HDRLEN, '\0');
    tcmsg tc{};
    tc.tcm_family = AF_UNSPEC;
    tc.tcm_ifindex = hooks[i].ifindex;
    tc.tcm_handle = loader::kTcFilterHandle;
    tc.tcm_parent = TC_H_MAKE(TC_H_CLSACT, parentMinor);
    tc.tcm_info = TC_H_MAKE(loader::kTcFilterPriority << 16, htons(ETH_P_ALL));
    request.append(reinterpret_cast<const char*>(&tc), sizeof tc);
    request.append(NLMSG_ALIGN(request.size()) - request.size(), '\0');
    appendAttribute(request, TCA_KIND, "bpf", sizeof "bpf");
    nlmsghdr header{};
    header.nlmsg_len = static_cast<uint32_t>(request.size());
    header.nlmsg_type = RTM_GETTFILTER;
    header.nlmsg_flags = NLM_F_REQUEST;
    header.nlmsg_seq = ++sequence_;
    std::memcpy(request.data(), &header, sizeof header);
    requests += request;
  }
  auto where = [&](uint32_t sequence) {
    const auto& hook = hooks[first + (sequence - firstSequence)];
    return "querying " + hook.hook + " of interface " + std::to_string(hook.ifindex);
  };
  if (::send(socket_.get(), requests.data(), requests.size(), 0) < 0)
    return Error{where(firstSequence) + ": " + std::strerror(errno)};

  // Each reply is a datagram of its own: read as many as are queued at once.
  constexpr size_t kSlots = kMaxBatch; // one answer per request
  iovec vectors[kSlots];
  mmsghdr messages[kSlots];
  for (size_t slot = 0; slot < kSlots; ++slot) {
    vectors[slot] = {buffer_.data() + slot * kReplySize, kReplySize};
    messages[slot] = {};
    messages[slot].msg_hdr.msg_iov = &vectors[slot];
    messages[slot].msg_hdr.msg_iovlen = 1;
  }
  size_t answered = 0;
  while (answered < count) {
    int received = ::recvmmsg(socket_.get(), messages, kSlots, MSG_WAITFORONE, nullptr);
    if (received < 0) {
      if (errno == EINTR) continue;
      return Error{where(firstSequence + static_cast<uint32_t>(answered)) + ": " +
                   std::strerror(errno)};
    }
    for (int slot = 0; slot < received; ++slot) {
      int length = static_cast<int>(messages[slot].msg_len);
      for (const auto* message = static_cast<const nlmsghdr*>(vectors[slot].iov_base);
           messageFits(message, length); message = NLMSG_NEXT(message, length)) {
        const uint32_t sequence = message->nlmsg_seq;
        if (sequence < firstSequence || sequence > sequence_) continue; // not of this batch
        if (message->nlmsg_type == NLMSG_ERROR) {
          const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(message));
          // ENOENT: no such filter; EINVAL: no clsact qdisc on the interface;
          // ENODEV: no such interface (any more).
          if (error->error != 0 && error->error != -ENOENT && error->error != -EINVAL &&
              error->error != -ENODEV)
            return Error{where(sequence) + ": " + std::strerror(-error->error)};
          ++answered;
        } else if (message->nlmsg_type == RTM_NEWTFILTER) {
          if (auto found = bpfProgramId(message)) ids[first + (sequence - firstSequence)] = found;
          ++answered;
        }
      }
    }
  }
  return okStatus();
}

Status TcFilterQuery::dump(uint16_t type, int ifindex, uint32_t parent,
                           const std::function<void(const nlmsghdr*)>& each) {
  tcmsg request{};
  request.tcm_family = AF_UNSPEC;
  request.tcm_ifindex = ifindex;
  request.tcm_parent = parent;
  std::string message(NLMSG_HDRLEN, '\0');
  message.append(reinterpret_cast<const char*>(&request), sizeof request);
  message.append(NLMSG_ALIGN(message.size()) - message.size(), '\0');
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(message.size());
  header.nlmsg_type = type;
  header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  header.nlmsg_seq = ++sequence_;
  std::memcpy(message.data(), &header, sizeof header);
  if (::send(socket_.get(), message.data(), message.size(), 0) < 0)
    return Error{std::string("rtnetlink dump: ") + std::strerror(errno)};
  for (;;) {
    ssize_t received = ::recv(socket_.get(), buffer_.data(), buffer_.size(), 0);
    if (received < 0 && errno == EINTR) continue;
    if (received < 0) return Error{std::string("rtnetlink dump: ") + std::strerror(errno)};
    int length = static_cast<int>(received);
    for (const auto* reply = reinterpret_cast<const nlmsghdr*>(buffer_.data());
         messageFits(reply, length); reply = NLMSG_NEXT(reply, length)) {
      if (reply->nlmsg_seq != header.nlmsg_seq) continue; // a late answer to an earlier query
      if (reply->nlmsg_type == NLMSG_DONE) return okStatus();
      if (reply->nlmsg_type == NLMSG_ERROR) {
        const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(reply));
        if (error->error == 0) return okStatus();
        return Error{std::string("rtnetlink dump: ") + std::strerror(-error->error)};
      }
      each(reply);
    }
  }
}

Expected<std::set<int>> TcFilterQuery::clsactInterfaces() {
  std::set<int> interfaces;
  auto done = dump(RTM_GETQDISC, 0, 0, [&](const nlmsghdr* message) {
    if (message->nlmsg_type != RTM_NEWQDISC || kindOf(message) != "clsact") return;
    interfaces.insert(static_cast<const tcmsg*>(NLMSG_DATA(message))->tcm_ifindex);
  });
  if (!done) return Error{"listing the clsact qdiscs: " + done.error()};
  return interfaces;
}

Expected<bool> TcFilterQuery::anyFilter(int ifindex, const std::string& hook) {
  auto parent = clsactParent(hook);
  if (!parent) return Error{parent.error()};
  bool any = false;
  auto done = dump(RTM_GETTFILTER, ifindex, *parent, [&](const nlmsghdr* message) {
    if (message->nlmsg_type == RTM_NEWTFILTER) any = true;
  });
  if (!done)
    return Error{"listing the filters at " + hook + " of interface " + std::to_string(ifindex) +
                 ": " + done.error()};
  return any;
}

} // namespace polc::runtime
