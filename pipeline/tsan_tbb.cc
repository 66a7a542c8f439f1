// ThreadSanitizer builds only: oneTBB's own synchronization notices become TSan annotations.
//
// Debian's libtbb is not built with -fsanitize=thread, so TSan cannot see the synchronization
// inside it. The worst gap is the end of a flow graph: every worker that finishes a task counts
// the graph's wait_context down, and the thread in wait_for_all() sees the count reach zero
// inside libtbb. Without that edge, everything the main thread does after the graph (destroying
// the Downloader, running the next graph on the same stack) is reported as racing with what the
// workers did in it.
//
// oneTBB's headers already announce these edges for Intel's tools: built with
// TBB_USE_PROFILING_TOOLS (CMakeLists.txt sets it for TSan builds), a worker calls
// call_itt_notify(releasing, &wait_ctx) before it counts down, and wait() calls
// call_itt_notify(acquired, &wait_ctx) once the wait is over. Spawning a task announces
// `releasing` on the task too. This definition of call_itt_notify replaces libtbb's (the
// executable's symbol wins) and passes those two notices to TSan. libtbb's own version only feeds
// an attached Intel profiler, which never runs on a TSan build, so nothing is lost.
//
// What this cannot cover: a worker starting a spawned task has no notice, so TSan still misses
// the spawn-to-execute edge. tests/fixtures/tsan.supp suppresses exactly those reports.
#include <oneapi/tbb/profiling.h>
#include <sanitizer/tsan_interface.h>

namespace tbb::detail::r1 {

void call_itt_notify(int type, void* ptr) {
  if (type == d1::releasing) {
    __tsan_release(ptr);
  } else if (type == d1::acquired) {
    __tsan_acquire(ptr);
  }
}

}  // namespace tbb::detail::r1
