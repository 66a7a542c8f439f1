// Tests for InterruptWatcher: a signal becomes on_stop() on the watcher thread, and the watcher
// ends as soon as it is destroyed (the end of every run waits for it).
#include "pipeline/interrupt.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace imgpipe {
namespace {

using Clock = std::chrono::steady_clock;

TEST(InterruptWatcher, SignalCallsOnStopOnce) {
  std::atomic<int> stops{0};
  {
    InterruptWatcher watcher([&stops] { ++stops; });
    ASSERT_EQ(0, ::kill(::getpid(), SIGTERM));  // blocked here, taken by the watcher thread
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!watcher.interrupted() && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_TRUE(watcher.interrupted());
  }
  EXPECT_EQ(stops.load(), 1);
}

// The watcher used to wake every 100 ms to notice the end, so destroying it 10 ms in took
// ~90 ms and every run ended on a 0.1 s tick. Now it is woken directly.
TEST(InterruptWatcher, DestructionDoesNotWaitForATick) {
  auto watcher = std::make_unique<InterruptWatcher>([] {});
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto start = Clock::now();
  watcher.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(50));
}

}  // namespace
}  // namespace imgpipe
