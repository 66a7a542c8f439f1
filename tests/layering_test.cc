// The direction of dependency: cli → pipeline → stages → image → core, nothing going back up.
//
// Reads the #include lines of every source file in those folders and names each one that reaches
// into a folder above its own, or uses a library its folder must not know (TBB outside pipeline/,
// CLI11 outside cli/, Item inside image/). The README's layout section describes the rooms.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "fixtures/temp_dir.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;

// The folders, lowest first: a file may include its own folder and the ones before it.
const std::vector<std::string> kLayers = {"core", "image", "stages", "pipeline", "cli"};

int rank_of(const std::string& folder) {
  for (size_t i = 0; i < kLayers.size(); ++i)
    if (kLayers[i] == folder) return static_cast<int>(i);
  return -1;
}

// Includes a folder may not use even though they are not ours: why is beside each.
struct Forbidden {
  std::string folder, include, why;
};
const std::vector<Forbidden> kForbidden = {
    {"core", "<", "core includes the standard library and nlohmann json only"},
    {"image", "\"core/item.h\"", "image/ is Image in, Image out: it never sees an Item"},
    {"image", "<tbb/", "only pipeline/ knows TBB"},
    {"stages", "<tbb/", "only pipeline/ knows TBB: stages are plain functions"},
    {"core", "<CLI/", "only cli/ knows CLI11"},
    {"image", "<CLI/", "only cli/ knows CLI11"},
    {"stages", "<CLI/", "only cli/ knows CLI11"},
    {"pipeline", "<CLI/", "only cli/ knows CLI11"},
};

// The C++ standard library and nlohmann json: all core/ may include.
bool standard_or_json(const std::string& header) {
  static const std::regex kStd(R"(<[a-z_]+>|<nlohmann/json(_fwd)?\.hpp>)");
  return std::regex_match(header, kStd);
}

// "FILE includes INCLUDE: WHY" for every violation under root.
std::vector<std::string> violations(const fs::path& root) {
  static const std::regex kInclude(R"(^\s*#\s*include\s*([<"][^>"]+[>"]))");
  std::vector<std::string> found;
  for (const std::string& folder : kLayers) {
    if (!fs::is_directory(root / folder)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(root / folder))
      if (entry.path().extension() == ".h" || entry.path().extension() == ".cc")
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& path : files) {
      const std::string file = fs::relative(path, root).string();
      std::ifstream in(path);
      std::smatch m;
      for (std::string line; std::getline(in, line);) {
        if (!std::regex_search(line, m, kInclude)) continue;
        const std::string header = m[1];
        if (header[0] == '"') {
          const std::string target = header.substr(1, header.find('/') - 1);
          const int rank = rank_of(target);
          if (rank > rank_of(folder))
            found.push_back(file + " includes " + header + ": " + target + "/ is above " + folder +
                            "/");
        }
        for (const Forbidden& f : kForbidden)
          if (f.folder == folder && header.rfind(f.include, 0) == 0 &&
              !(f.include == "<" && standard_or_json(header)))
            found.push_back(file + " includes " + header + ": " + f.why);
      }
    }
  }
  return found;
}

TEST(Layering, NoFolderIncludesOneAboveIt) {
  const std::vector<std::string> found = violations(IMGPIPE_SOURCE_DIR);
  for (const std::string& v : found) ADD_FAILURE() << v;
}

class LayeringPlantedTest : public TempDirTest {
 protected:
  void plant(const std::string& rel, const std::string& text) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel) << text;
  }
};

TEST_F(LayeringPlantedTest, ABackIncludeIsNamedWithItsFile) {
  plant("core/item.h", "#include <string>\n#include <nlohmann/json.hpp>\n");
  plant("image/box.h", "#include \"core/image.h\"\n");
  plant("stages/download.h", "#include \"core/item.h\"\n#include \"pipeline/metrics.h\"\n");
  EXPECT_EQ(violations(dir_), (std::vector<std::string>{
                                  "stages/download.h includes \"pipeline/metrics.h\": pipeline/ is "
                                  "above stages/"}));
}

TEST_F(LayeringPlantedTest, ForbiddenLibrariesAreNamedWithTheReason) {
  plant("core/options.h", "#include <curl/curl.h>\n");
  plant("image/png.h", "#include \"core/item.h\"\n");
  plant("stages/decode.cc", "  #  include <tbb/flow_graph.h>\n");
  plant("pipeline/pipeline.cc", "#include <CLI/CLI.hpp>\n#include <tbb/flow_graph.h>\n");
  const std::vector<std::string> found = violations(dir_);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0],
            "core/options.h includes <curl/curl.h>: core includes the standard library "
            "and nlohmann json only");
  EXPECT_EQ(found[1],
            "image/png.h includes \"core/item.h\": image/ is Image in, Image out: it never sees "
            "an Item");
  EXPECT_EQ(found[2],
            "stages/decode.cc includes <tbb/flow_graph.h>: only pipeline/ knows TBB: stages are "
            "plain functions");
  EXPECT_EQ(found[3], "pipeline/pipeline.cc includes <CLI/CLI.hpp>: only cli/ knows CLI11");
}

}  // namespace
}  // namespace imgpipe
