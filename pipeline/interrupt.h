// InterruptWatcher: SIGINT/SIGTERM become a graceful stop; a second one exits at once.
//
// The constructor blocks both signals in the calling thread, so every thread started after it
// inherits the mask and only the watcher's own thread ever sees them (through a signalfd): no
// work in a signal handler. First signal: on_stop() runs on the watcher thread; the run stops
// starting transfers, finishes what is inside the graph, writes the manifest and metrics, and
// exits 130. Second signal: _exit(130) at once — rows already written stay complete.
//
// Ownership: owns its thread and two descriptors; the destructor wakes and joins the thread at
// once and restores the signal mask.
//
// Thread-safety: interrupted() from any thread.
#pragma once
#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace imgpipe {

class InterruptWatcher {
 public:
  explicit InterruptWatcher(std::function<void()> on_stop);
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  bool interrupted() const { return interrupted_.load(); }

 private:
  void watch();

  std::function<void()> on_stop_;
  sigset_t set_{}, old_mask_{};
  int signal_fd_ = -1, wake_fd_ = -1;  // signalfd for set_; eventfd written by the destructor
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

}  // namespace imgpipe
