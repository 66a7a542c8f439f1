// Signal watching on a dedicated thread with sigtimedwait.
#include "pipeline/interrupt.h"

#include <unistd.h>

#include <cerrno>

namespace imgpipe {

InterruptWatcher::InterruptWatcher(std::function<void()> on_stop) : on_stop_(std::move(on_stop)) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_mask_);
  thread_ = std::thread([this] { watch(); });
}

InterruptWatcher::~InterruptWatcher() {
  done_ = true;
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void InterruptWatcher::watch() {
  // 100 ms: how late the thread notices the run ended; signals themselves are taken at once.
  const timespec tick{0, 100'000'000};
  while (!done_) {
    if (sigtimedwait(&set_, nullptr, &tick) < 0) continue;  // EAGAIN (tick) or EINTR
    if (interrupted_.exchange(true)) {
      static const char kMsg[] = "imgpipe: interrupted again: exiting now\n";
      (void)!::write(2, kMsg, sizeof kMsg - 1);
      ::_exit(130);
    }
    static const char kMsg[] =
        "imgpipe: interrupted: finishing items in progress (again to quit now)\n";
    (void)!::write(2, kMsg, sizeof kMsg - 1);
    on_stop_();
  }
}

}  // namespace imgpipe
