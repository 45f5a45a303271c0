#include "polc/maps/event_ring.h"

#include "polc/support/unique_fd.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace polc::maps {

struct EventRing::State {
  Handler handler;
  UniqueFd ownedFd; // when opened from a pin
  ring_buffer* ring = nullptr;
  ~State() {
    if (ring) ring_buffer__free(ring);
  }
};

namespace {

int handleRecord(void* context, void* data, size_t size) {
  auto* handler = static_cast<EventRing::Handler*>(context);
  // A record of another layout (a newer datapath) is skipped, not misread.
  if (size < sizeof(polc_event)) return 0;
  polc_event event;
  std::memcpy(&event, data, sizeof event);
  (*handler)(event);
  return 0;
}

} // namespace

EventRing::EventRing(std::unique_ptr<State> state) : state_(std::move(state)) {}
EventRing::EventRing(EventRing&&) noexcept = default;
EventRing& EventRing::operator=(EventRing&&) noexcept = default;
EventRing::~EventRing() = default;

Expected<EventRing> EventRing::fromFd(int mapFd, Handler handler) {
  auto state = std::make_unique<State>();
  state->handler = std::move(handler);
  state->ring = ring_buffer__new(mapFd, handleRecord, &state->handler, nullptr);
  if (!state->ring)
    return Error{std::string("cannot map the event ring buffer: ") + std::strerror(errno)};
  return EventRing(std::move(state));
}

Expected<EventRing> EventRing::openPinned(const std::filesystem::path& pin, Handler handler) {
  UniqueFd fd(bpf_obj_get(pin.c_str()));
  if (!fd.valid())
    return Error{"cannot open the event ring buffer " + pin.string() + ": " + std::strerror(errno)};
  auto ring = fromFd(fd.get(), std::move(handler));
  if (!ring) return ring;
  ring->state_->ownedFd = std::move(fd);
  return ring;
}

Expected<int> EventRing::poll(std::chrono::milliseconds timeout) {
  int handled = ring_buffer__poll(state_->ring, static_cast<int>(timeout.count()));
  if (handled == -EINTR) return 0;
  if (handled < 0)
    return Error{std::string("reading the event ring buffer: ") + std::strerror(-handled)};
  // The datapath does not wake the reader (bpf/lib/polc_monitor.h): what
  // came is read when the wait times out.
  if (handled == 0) return drain();
  return handled;
}

Expected<int> EventRing::drain() {
  int handled = ring_buffer__consume(state_->ring);
  if (handled < 0)
    return Error{std::string("reading the event ring buffer: ") + std::strerror(-handled)};
  return handled;
}

} // namespace polc::maps
