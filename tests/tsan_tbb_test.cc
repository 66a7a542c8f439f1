// ThreadSanitizer builds: pipeline/tsan_tbb.cc and tests/fixtures/tsan.supp must hide what libtbb
// hides from TSan, and nothing more. Each case runs a small flow graph in a child process (this
// binary again, on one test of TsanChild) under exactly those suppressions, and checks what TSan
// reported. Other builds skip.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <tbb/flow_graph.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/item.h"

extern char** environ;

namespace imgpipe {
namespace {

#if defined(__SANITIZE_THREAD__)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif

constexpr char kChildVar[] = "IMGPIPE_TSAN_CHILD";  // set only in the child processes

struct Child {
  int exit_code = -1;
  std::string output;  // stdout and stderr together: gtest's lines and TSan's reports
};

// Runs TsanChild.<name> in a child process with the project's suppressions and TSan's exit code
// 66 for "reports were printed".
Child run_child(const std::string& name) {
  const std::string out =
      "/tmp/imgpipe_tsan_tbb_" + std::to_string(::getpid()) + "_" + name + ".txt";
  std::vector<std::string> args = {"/proc/self/exe", "--gtest_filter=TsanChild." + name};
  std::vector<std::string> env = {
      std::string(kChildVar) + "=1",
      "TSAN_OPTIONS=exitcode=66 suppressions=" IMGPIPE_TSAN_SUPPRESSIONS};
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("TSAN_OPTIONS=", 0) != 0) env.push_back(*e);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  for (auto& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  Child c;
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&fa);
  std::ifstream in(out);
  c.output.assign(std::istreambuf_iterator<char>(in), {});
  std::remove(out.c_str());
  return c;
}

// The child cases run only when a parent test started them.
bool in_child() { return std::getenv(kChildVar) != nullptr; }

// Holds each caller until two are inside at once (or 5 s passed), so two node bodies truly run
// in parallel and the racy case below is a real race, not an artefact of what TSan cannot see.
void meet(std::atomic<int>& arrived) {
  arrived.fetch_add(1);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (arrived.load() < 2 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
}

int g_unguarded = 0;  // written by two node bodies at once, on purpose

TEST(TsanChild, RacyNodeBody) {
  if (!in_child()) GTEST_SKIP() << "run by TsanTbb.ARaceInsideANodeBodyIsStillReported";
  tbb::flow::graph g;
  std::atomic<int> arrived{0};
  tbb::flow::function_node<std::shared_ptr<int>> node(g, tbb::flow::unlimited,
                                                      [&](std::shared_ptr<int> v) {
                                                        meet(arrived);
                                                        g_unguarded += *v;  // the race
                                                      });
  node.try_put(std::make_shared<int>(1));
  node.try_put(std::make_shared<int>(2));
  g.wait_for_all();
}

// The shape of imgpipe's graph: shared_ptr<Item> messages through a parallel node into a serial
// one that owns plain state, which the main thread reads once wait_for_all() returns. (The
// message suppressions name Item: the same graph passing shared_ptr<int> is reported.)
TEST(TsanChild, CleanGraph) {
  if (!in_child()) GTEST_SKIP() << "run by TsanTbb.AFlowGraphUsedCorrectlyIsReportFree";
  using Msg = std::shared_ptr<Item>;
  tbb::flow::graph g;
  std::vector<uint64_t> seen;  // only the serial node touches it during the run
  tbb::flow::function_node<Msg, Msg> work(g, tbb::flow::unlimited, [](Msg item) {
    item->line *= 2;
    return item;
  });
  tbb::flow::function_node<Msg> collect(g, tbb::flow::serial,
                                        [&](Msg item) { seen.push_back(item->line); });
  tbb::flow::make_edge(work, collect);
  for (int i = 0; i < 200; ++i) {
    auto item = std::make_shared<Item>();
    item->line = i;
    work.try_put(item);
  }
  g.wait_for_all();
  EXPECT_EQ(seen.size(), 200u);
}

TEST(TsanTbb, ARaceInsideANodeBodyIsStillReported) {
  if (!kTsan) GTEST_SKIP() << "ThreadSanitizer builds only";
  Child c = run_child("RacyNodeBody");
  EXPECT_EQ(c.exit_code, 66) << c.output;
  EXPECT_NE(c.output.find("WARNING: ThreadSanitizer: data race"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("g_unguarded"), std::string::npos) << c.output;
}

TEST(TsanTbb, AFlowGraphUsedCorrectlyIsReportFree) {
  if (!kTsan) GTEST_SKIP() << "ThreadSanitizer builds only";
  Child c = run_child("CleanGraph");
  EXPECT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(c.output.find("WARNING: ThreadSanitizer"), std::string::npos) << c.output;
}

}  // namespace
}  // namespace imgpipe
