// Tests for PixelBudget: the cap holds under concurrency, waiters are woken by releases and served
// in arrival order, and a request larger than the whole budget fails at once instead of waiting.
#include "stages/pixel_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

namespace imgpipe {
namespace {

using namespace std::chrono_literals;

TEST(PixelBudget, MoreThanTheWholeBudgetFailsAtOnce) {
  PixelBudget budget(100);
  EXPECT_FALSE(budget.acquire(101));
  EXPECT_EQ(budget.in_use(), 0u);
  EXPECT_TRUE(budget.acquire(100));  // exactly the limit fits
  budget.release(100);
  Reservation r;
  EXPECT_FALSE(r.acquire(budget, 1000));
  EXPECT_EQ(r.bytes(), 0u);
}

TEST(PixelBudget, ReservationReleasesWhenDestroyed) {
  PixelBudget budget(100);
  {
    Reservation r;
    ASSERT_TRUE(r.acquire(budget, 60));
    EXPECT_EQ(budget.in_use(), 60u);
  }
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(PixelBudget, AWaiterRunsOnlyOnceTheHolderReleases) {
  PixelBudget budget(100);
  ASSERT_TRUE(budget.acquire(70));
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    ASSERT_TRUE(budget.acquire(50));
    got = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(got) << "70 + 50 does not fit in 100";
  budget.release(70);
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(budget.in_use(), 50u);
  EXPECT_EQ(budget.peak(), 70u);
}

// A large request that arrived first is not overtaken by small ones that would fit beside the
// current holder: otherwise a steady stream of small items could starve it for the whole run.
TEST(PixelBudget, RequestsAreServedInArrivalOrder) {
  PixelBudget budget(100);
  ASSERT_TRUE(budget.acquire(40));
  std::atomic<int> order{0}, big_at{-1}, small_at{-1};
  std::thread big([&] {
    ASSERT_TRUE(budget.acquire(80));
    big_at = order++;
    budget.release(80);
  });
  // A thread may take long to start (TSan, a loaded machine): wait until each is in line.
  const auto wait_for_line = [&](uint64_t n) {
    while (budget.waiting() < n && small_at == -1) std::this_thread::sleep_for(1ms);
  };
  wait_for_line(1);
  std::thread small([&] {
    // 30 would fit beside the 40 at once, but not beside the 80: served after the big one, the
    // small one also runs after it recorded its turn.
    ASSERT_TRUE(budget.acquire(30));
    small_at = order++;
    budget.release(30);
  });
  wait_for_line(2);
  std::this_thread::sleep_for(100ms);  // time to jump the queue, if it could
  EXPECT_EQ(small_at, -1) << "the small request jumped the queue";
  budget.release(40);
  big.join();
  small.join();
  EXPECT_EQ(big_at, 0);
  EXPECT_EQ(small_at, 1);
}

TEST(PixelBudget, ManyThreadsNeverExceedTheLimit) {
  PixelBudget budget(1000);
  std::atomic<uint64_t> held{0}, worst{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 2000; ++i) {
        Reservation r;
        const uint64_t bytes = 1 + rng() % 600;
        ASSERT_TRUE(r.acquire(budget, bytes));
        const uint64_t now = held += bytes;
        for (uint64_t w = worst; now > w && !worst.compare_exchange_weak(w, now);) {
        }
        held -= bytes;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_LE(worst.load(), 1000u);
  EXPECT_LE(budget.peak(), 1000u);
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(PixelBudget, TheMachineHasMemory) { EXPECT_GT(available_memory_bytes(), uint64_t{64} << 20); }

}  // namespace
}  // namespace imgpipe
