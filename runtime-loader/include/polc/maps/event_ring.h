// Reads verdict events (struct polc_event) from the node's ring buffer.
// Kernel only: a ring buffer is memory shared with the kernel, there is
// nothing to fake below it.
#pragma once

#include "polc/support/expected.h"
#include "polc_structs.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

struct ring_buffer;

namespace polc::maps {

class EventRing {
public:
  using Handler = std::function<void(const polc_event&)>;

  // The ring buffer map pinned at `pin`, or the map with fd `mapFd` (not
  // owned; it must outlive the EventRing).
  static Expected<EventRing> openPinned(const std::filesystem::path& pin, Handler);
  static Expected<EventRing> fromFd(int mapFd, Handler);

  EventRing(EventRing&&) noexcept;
  EventRing& operator=(EventRing&&) noexcept;
  ~EventRing();

  // Hands every event waiting to the handler; waits up to `timeout` for
  // a wakeup (the datapath sends none: it is a timer), then reads what
  // is there. Returns how many it handled (EINTR counts as none).
  Expected<int> poll(std::chrono::milliseconds timeout);
  // Every event waiting, without waiting.
  Expected<int> drain();

private:
  struct State;
  explicit EventRing(std::unique_ptr<State>);
  std::unique_ptr<State> state_;
};

} // namespace polc::maps
