// End-to-end tests of --report: the real binary against the loopback server, then the page in a
// real browser — headless Chromium renders it to a PNG (not blank, charts drawn, darker in dark
// mode), its console stays silent, and the numbers in its DOM are the metrics JSON's. The browser
// part is skipped only where Chromium is absent (.ci/setup.sh installs it, so CI never skips).
#include <spawn.h>

#include <cmath>
#include <map>
#include <regex>

#include "fixtures/e2e_fixture.h"
#include "fixtures/report_labels.h"

namespace imgpipe {
namespace {

using OrderedJson = nlohmann::ordered_json;

// Debian's chromium, or the name other systems give it; "" when there is none.
std::string find_chromium() {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/snap/bin/"})
    for (const char* name : {"chromium", "chromium-browser"})
      if (::access((std::string(dir) + name).c_str(), X_OK) == 0) return std::string(dir) + name;
  return "";
}

struct Rendered {
  int exit_code = -1;
  std::string out, err;
};

using fixtures::Labelled;
using fixtures::labelled;

// What a screenshot shows, in numbers: not blank, charts drawn, light or dark.
struct Picture {
  int width = 0, height = 0;
  double not_background = 0;    // share of pixels unlike the most common colour
  double blue = 0, orange = 0;  // share of pixels in the download and processing colours' hues
  double mean_luma = 0;         // 0..255
};

class ReportE2eTest : public E2eTest {
 protected:
  // Runs chromium headless on `page` with `flags`, no shell, within 60 s (the `timeout` command
  // kills a hung browser). Its own profile folder per call, so parallel tests never share one.
  Rendered chromium(const fs::path& page, std::vector<std::string> flags) {
    static int calls = 0;
    const fs::path profile = dir_ / ("chromium-profile-" + std::to_string(++calls));
    std::vector<std::string> args = {"timeout",
                                     "-k",
                                     "5",
                                     "60",
                                     chromium_,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--no-first-run",
                                     "--user-data-dir=" + profile.string(),
                                     "--enable-logging=stderr",
                                     "--hide-scrollbars"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("file://" + fs::absolute(page).string());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, (dir_ / "chromium.out").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, (dir_ / "chromium.err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    Rendered r;
    if (posix_spawnp(&pid, "timeout", &fa, nullptr, argv.data(), environ) == 0)
      r.exit_code = wait_exit(pid);
    posix_spawn_file_actions_destroy(&fa);
    r.out = slurp(dir_ / "chromium.out");
    r.err = slurp(dir_ / "chromium.err");
    return r;
  }

  // The page as the browser built it, after checking that loading it logged no console message
  // (the page has no script, so any message is an error: a blocked load, a refused handler).
  std::string dom_of(const fs::path& page) {
    Rendered r = chromium(page, {"--dump-dom"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("CONSOLE"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("</html>"), std::string::npos) << r.out.substr(0, 500);
    return r.out;
  }

  Picture screenshot(const fs::path& page, const fs::path& png, int width, int height,
                     bool dark = false) {
    std::vector<std::string> flags = {
        "--screenshot=" + png.string(),
        "--window-size=" + std::to_string(width) + "," + std::to_string(height)};
    if (dark) flags.push_back("--force-dark-mode");
    Rendered r = chromium(page, flags);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("CONSOLE"), std::string::npos) << r.err;
    return measure(png);
  }

  static Picture measure(const fs::path& png) {
    Picture p;
    Item shot;
    const std::string bytes = slurp(png);
    shot.body.assign(bytes.begin(), bytes.end());
    ImageOptions full;  // a box larger than any screenshot: decoded at full size, not shrunk
    full.sizes = {Size{65535, 65535}};
    full.format = Format::kPng;
    decode(shot, full);
    EXPECT_TRUE(shot.ok()) << png << ": " << shot.error;
    if (!shot.ok()) return p;
    const Image& im = shot.image;
    p.width = im.width;
    p.height = im.height;
    std::map<uint32_t, size_t> colours;
    const size_t n = size_t(im.width) * im.height;
    double luma = 0, blue = 0, orange = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* px = im.pixels.get() + i * im.channels;
      const int r = px[0], g = im.channels >= 3 ? px[1] : r, b = im.channels >= 3 ? px[2] : r;
      ++colours[(r << 16) | (g << 8) | b];
      luma += 0.2126 * r + 0.7152 * g + 0.0722 * b;
      blue += b > r + 50 && b > g + 10;    // the downloads' blue (light #2166ac, dark #6baed6)
      orange += r > b + 60 && r > g + 30;  // the processing's orange-red, in either mode
    }
    size_t most = 0;
    for (const auto& [c, count] : colours) most = std::max(most, count);
    p.not_background = 1.0 - double(most) / n;
    p.blue = blue / n;
    p.orange = orange / n;
    p.mean_luma = luma / n;
    return p;
  }

  // Every labelled number in `dom` is the JSON's, shown rounded; returns how many there were.
  static size_t expect_numbers_match(const std::string& dom, const OrderedJson& json) {
    const std::vector<Labelled> numbers = labelled(dom);
    for (const Labelled& n : numbers) {
      const OrderedJson::json_pointer p(n.pointer);
      if (!json.contains(p)) {
        ADD_FAILURE() << n.pointer << " is not in the JSON";
        continue;
      }
      EXPECT_EQ(json.at(p).dump(), n.value) << n.pointer;
      if (json.at(p).is_null()) continue;
      const double scale = n.scale.empty() ? 1 : std::stod(n.scale);
      const size_t dot = n.text.find('.');
      const int decimals = dot == std::string::npos ? 0 : int(n.text.size() - dot - 1);
      EXPECT_NEAR(std::stod(n.text), json.at(p).get<double>() * scale,
                  0.5 * std::pow(10.0, -decimals) + 1e-9)
          << n.pointer << " shows " << n.text;
    }
    return numbers.size();
  }

  // Not blank, not near-uniform, and both halves of the timeline drawn in their colours.
  static void expect_drawn(const Picture& p, int width, int height) {
    EXPECT_EQ(p.width, width);
    EXPECT_EQ(p.height, height);
    EXPECT_GT(p.not_background, 0.05) << "near-uniform screenshot";
    EXPECT_GT(p.blue, 0.002) << "no transfers drawn";
    EXPECT_GT(p.orange, 0.002) << "no busy workers drawn";
  }

  // A list of ok images, a 404 and a line that is no URL, in a file whose name is markup.
  fs::path hostile_list(int images) {
    std::vector<std::string> lines = small_images(server_, images);
    lines.push_back(server_.url("/status/404"));
    lines.push_back("not a url");
    fs::path plain = write_list(lines);
    fs::path hostile = dir_ / "\"><svg onload=alert(1)><b>list.txt";
    fs::rename(plain, hostile);
    return hostile;
  }

  const std::string chromium_ = find_chromium();
};

TEST_F(ReportE2eTest, ARunsReportShowsTheMetricsNumbersInChromium) {
  const fs::path list = hostile_list(40);
  const fs::path page = dir_ / "r.html", metrics = dir_ / "m.json";
  Outcome run_outcome = run({"-i", list.string(), "-o", (dir_ / "out").string(), "-j", "8",
                             "--report", page.string(), "--metrics-json", metrics.string()});
  ASSERT_EQ(run_outcome.exit_code, 1) << run_outcome.err;  // the 404 and the bad line failed
  const std::string html = slurp(page);
  const OrderedJson json = OrderedJson::parse(slurp(metrics));
  EXPECT_GT(expect_numbers_match(html, json), 96u);
  EXPECT_EQ(html.find("<svg onload"), std::string::npos) << "the list's name is escaped";
  EXPECT_NE(html.find("&lt;svg onload=alert(1)&gt;"), std::string::npos);
  EXPECT_LT(html.size(), 200'000u);
  if (chromium_.empty()) GTEST_SKIP() << "no chromium: the browser half is skipped";

  const std::string dom = dom_of(page);
  EXPECT_EQ(expect_numbers_match(dom, json), labelled(html).size()) << "the browser kept them";
  EXPECT_EQ(dom.find("<svg onload"), std::string::npos);
  const Picture light = screenshot(page, dir_ / "light.png", 1100, 1600);
  expect_drawn(light, 1100, 1600);
  const Picture dark = screenshot(page, dir_ / "dark.png", 1100, 1600, true);
  expect_drawn(dark, 1100, 1600);
  EXPECT_LT(dark.mean_luma, light.mean_luma / 2) << "prefers-color-scheme: dark not honoured";
  // A narrow window (a phone) gets the same page, stacked: still drawn, still no console error.
  expect_drawn(screenshot(page, dir_ / "narrow.png", 400, 1600), 400, 1600);
}

TEST_F(ReportE2eTest, CompareReportShowsTheFourRunsAndTheLesson) {
  const fs::path list = hostile_list(12);
  const fs::path page = dir_ / "c.html";
  Outcome r = run({"compare", "-i", list.string(), "-o", (dir_ / "cmp").string(), "-j", "8",
                   "--report", page.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const OrderedJson json = OrderedJson::parse(r.out);
  const std::string html = slurp(page);
  EXPECT_GT(expect_numbers_match(html, json), 40u);
  for (const char* name : {"a-sequential", "b-concurrent", "c-parallel", "d-pipeline"})
    EXPECT_NE(html.find(name), std::string::npos) << name;
  EXPECT_NE(html.find("from concurrency"), std::string::npos);
  if (chromium_.empty()) GTEST_SKIP() << "no chromium: the browser half is skipped";

  const std::string dom = dom_of(page);
  EXPECT_EQ(expect_numbers_match(dom, json), labelled(html).size());
  expect_drawn(screenshot(page, dir_ / "compare.png", 1100, 1400), 1100, 1400);
}

// A report that cannot be written is said before the run starts: exit 2, nothing downloaded.
TEST_F(ReportE2eTest, AnUnwritableReportPathStopsBeforeTheRun) {
  const fs::path list = write_list(small_images(server_, 3));
  for (const std::vector<std::string>& head :
       {std::vector<std::string>{}, std::vector<std::string>{"compare"}}) {
    std::vector<std::string> args = head;
    for (const std::string& a :
         {std::string("-i"), list.string(), std::string("-o"), (dir_ / "out").string(),
          std::string("--report"), (dir_ / "no-such-folder" / "r.html").string()})
      args.push_back(a);
    Outcome r = run(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("cannot write the report"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "out")) << "the run did not start";
  }
  EXPECT_EQ(server_.hits("/image/20x20.jpg"), 0);
}

}  // namespace
}  // namespace imgpipe
