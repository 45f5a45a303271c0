// The agent's loop: inotify on the source directory and the node's bundle,
// a quiet period after changes, a rescan every interval, SIGTERM and SIGINT
// from a signalfd (never in the middle of a load).
#include "polc/loader/agent.h"

#include "polc/artifacts/signature.h"
#include "polc/support/unique_fd.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstring>

namespace polc::loader {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

Error errnoError(const std::string& what) {
  const int errnum = errno;
  return Error{what + ": " + std::strerror(errnum), errnum, "", ""};
}

// What changes a bundle: files written, renamed in or out, removed, and the
// watched directory itself replaced.
constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR;

// An inotify instance watching the source directory (its entries, not
// below) and the bundle with every directory below it. Watched anew after
// every look at the bundle: a bundle renamed into place is a new directory
// whose watches the old instance does not have. A fresh instance rather
// than removing watches one by one; the look follows the new watches, so a
// change between the two is seen by the look or by the new watches.
class Watch {
public:
  Status rewatch(const fs::path& source, const std::optional<fs::path>& bundle) {
    fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!fd_.valid()) return errnoError("inotify_init1");
    add(source);
    if (bundle) {
      if (*bundle != source) add(*bundle);
      std::error_code ec;
      for (fs::recursive_directory_iterator it(*bundle, ec), end; !ec && it != end;
           it.increment(ec))
        if (it->is_directory(ec)) add(it->path());
    }
    return okStatus();
  }
  int fd() const { return fd_.get(); }
  // Reads every event queued; whether there was any.
  bool drain() {
    alignas(inotify_event) char buffer[8192];
    bool any = false;
    while (true) {
      const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
      if (n <= 0) return any; // EAGAIN: nothing more
      any = true;
    }
  }

private:
  // A directory that cannot be watched (gone already, the source dir
  // missing) is looked at again at the next rescan.
  void add(const fs::path& directory) {
    ::inotify_add_watch(fd_.get(), directory.c_str(), kWatchMask);
  }

  UniqueFd fd_;
};

// SIGTERM and SIGINT blocked and readable from a signalfd while it lives;
// the signal mask is restored after.
class StopSignals {
public:
  static Expected<StopSignals> open() {
    StopSignals signals;
    sigemptyset(&signals.mask_);
    sigaddset(&signals.mask_, SIGTERM);
    sigaddset(&signals.mask_, SIGINT);
    if (::sigprocmask(SIG_BLOCK, &signals.mask_, &signals.previous_) != 0)
      return errnoError("sigprocmask");
    signals.restore_ = true;
    signals.fd_.reset(::signalfd(-1, &signals.mask_, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!signals.fd_.valid()) return errnoError("signalfd");
    return signals;
  }
  StopSignals(StopSignals&& other) noexcept
      : fd_(std::move(other.fd_)), mask_(other.mask_), previous_(other.previous_),
        restore_(std::exchange(other.restore_, false)) {}
  StopSignals& operator=(StopSignals&&) = delete;
  ~StopSignals() {
    if (restore_) ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
  }
  int fd() const { return fd_.get(); }
  // The signal received, or 0.
  int take() {
    signalfd_siginfo info{};
    return ::read(fd_.get(), &info, sizeof info) == sizeof info ? int(info.ssi_signo) : 0;
  }

private:
  StopSignals() = default;
  UniqueFd fd_;
  sigset_t mask_{}, previous_{};
  bool restore_ = false;
};

} // namespace

Status runAgent(Loader& loader, const AgentOptions& options, std::ostream& log,
                std::ostream& errors) {
  // Keys that cannot be read would fail every load: refuse to start instead.
  auto keys = artifacts::readTrustedKeys(options.trust);
  if (!keys) return Error{"--trust: " + keys.error()};
  std::string keyIds;
  for (const auto& key : *keys) keyIds += (keyIds.empty() ? "" : ", ") + key.id;
  auto signals = StopSignals::open();
  if (!signals) return Error{signals.failure()};
  log << "polc agent: " << options.node << ": watching " << options.source.string()
      << " (rescan every " << options.interval.count() / 1000.0 << " s), trusting key"
      << (keys->size() == 1 ? " " : "s ") << keyIds << std::endl;
  Agent agent(loader, options, log, errors);
  Watch watch;

  auto lookAt = [&]() -> Status {
    // Watched before the look: a change during the look is an event.
    if (auto watched = watch.rewatch(options.source, bundleDirectory(options.source, options.node));
        !watched)
      return watched;
    if (auto checked = agent.check(); !checked)
      errors << "polc agent: " << options.node << ": " << checked.error() << std::endl;
    return okStatus();
  };

  if (auto first = lookAt(); !first) return first;
  auto nextRescan = Clock::now() + options.interval;
  // While changes settle: when they will have; else never.
  constexpr auto kNever = Clock::time_point::max();
  auto quietUntil = kNever;
  while (true) {
    const auto now = Clock::now();
    const auto wakeAt = std::min(quietUntil, nextRescan);
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wakeAt - now).count();
    pollfd fds[2] = {{signals->fd(), POLLIN, 0}, {watch.fd(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, int(std::max<long long>(wait, 0)));
    if (ready < 0 && errno != EINTR) return errnoError("poll");
    if (ready > 0 && (fds[0].revents & POLLIN)) {
      const int signal = signals->take();
      log << "polc agent: " << options.node << ": " << (signal ? strsignal(signal) : "signal")
          << ": stopping (nothing unloaded: revision "
          << (agent.record() && !agent.record()->appliedRevision.empty()
                  ? agent.record()->appliedRevision.substr(0, 12)
                  : "(none)")
          << " stays in force)" << std::endl;
      return okStatus();
    }
    if (ready > 0 && (fds[1].revents & POLLIN) && watch.drain()) {
      quietUntil = Clock::now() + options.quiet;
      continue;
    }
    const auto after = Clock::now();
    if (after >= quietUntil || after >= nextRescan) {
      quietUntil = kNever;
      if (auto looked = lookAt(); !looked) return looked;
      nextRescan = Clock::now() + options.interval;
    }
  }
}

} // namespace polc::loader
