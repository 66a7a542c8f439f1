// Tests that the man page (docs/imgpipe.1.in, configured into the build folder as imgpipe.1)
// documents the real CLI, statuses and manifest fields, and that groff, man and lexgrog read it
// without a warning.
//
// Why a page written by hand and this test, rather than a page generated from the CLI11 apps:
// the page's worth is in what --help has no room for (defaults, what a value means, exit codes,
// the manifest, examples), which would have to be written by hand inside the generator anyway;
// and the apps are built inside cli.cc's parse functions, which a generator would have to pull
// apart. Here the flags come from each command's real --help, the statuses from status_name and
// the fields from manifest_row, so a new flag (or status, or field) fails a test, naming the
// section it belongs in, until the page documents it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/cli.h"
#include "core/status.h"
#include "stages/manifest.h"

namespace imgpipe {
namespace {

using Flags = std::set<std::string>;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string& page() {
  static const std::string text = read_text(IMGPIPE_MAN_PAGE);
  return text;
}

// What a reader sees of roff source: font changes dropped, \- and \e as - and \, comments gone.
std::string plain(std::string roff) {
  roff = std::regex_replace(roff, std::regex(R"(\\f[BIRP])"), "");
  roff = std::regex_replace(roff, std::regex(R"(\\\(aq)"), "'");
  roff = std::regex_replace(roff, std::regex(R"(\\-)"), "-");
  roff = std::regex_replace(roff, std::regex(R"(\\e)"), "\\");
  return std::regex_replace(roff, std::regex(R"((^|\n)\.\\".*)"), "$1");
}

// The part of the page from the line `heading` (".SH OPTIONS", ".SS \"imgpipe plan\"") to the next
// heading of the same or a higher level; empty if there is no such heading.
std::string section(const std::string& heading) {
  const std::string& text = page();
  size_t begin = text.find("\n" + heading + "\n");
  if (begin == std::string::npos) return "";
  begin += heading.size() + 2;
  size_t end = text.find("\n.SH ", begin);
  if (heading.rfind(".SS", 0) == 0) end = std::min(end, text.find("\n.SS ", begin));
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// Every -x and --word in text (not the dash inside a word: non-public, a-sequential).
Flags flags_in(const std::string& text) {
  static const std::regex flag(R"((?:^|[^\w-])(--?[a-zA-Z][a-zA-Z0-9-]*))");
  Flags found;
  for (std::sregex_iterator it(text.begin(), text.end(), flag), end; it != end; ++it)
    found.insert((*it)[1]);
  return found;
}

// The .TP items' tag lines (the line after each .TP), as plain text.
std::vector<std::string> item_tags(const std::string& roff) {
  std::vector<std::string> tags;
  std::istringstream lines(roff);
  std::string line;
  bool next_is_tag = false;
  while (std::getline(lines, line)) {
    if (next_is_tag) tags.push_back(plain(line));
    next_is_tag = line == ".TP";
  }
  return tags;
}

// The first word of each .TP tag (".B ok" → "ok"; ".BR width \", \" height" → width, height).
std::set<std::string> tag_words(const std::string& roff) {
  std::set<std::string> words;
  static const std::regex word(R"([a-z][a-z0-9_]*)");
  for (std::string tag : item_tags(roff)) {
    if (tag.rfind(".B", 0) == 0) tag = tag.substr(tag.find(' ') + 1);
    for (std::sregex_iterator it(tag.begin(), tag.end(), word), end; it != end; ++it)
      words.insert(it->str());
  }
  return words;
}

// What `imgpipe [word] --help` prints.
std::string help_text(const std::string& word) {
  std::vector<const char*> args = {"imgpipe"};
  if (!word.empty()) args.push_back(word.c_str());
  args.push_back("--help");
  testing::internal::CaptureStdout();
  const CommandLine cl = parse_command_line(static_cast<int>(args.size()), args.data());
  EXPECT_EQ(cl.exit_code, kExitOk) << word;
  return testing::internal::GetCapturedStdout();
}

// The flags of `imgpipe [word] --help`, from CLI11's option lines ("  -i,--input TEXT ...").
Flags help_flags(const std::string& word) {
  const std::string help = help_text(word);
  static const std::regex names(R"((?:^|\n)  (-[^ \n{]+))");
  static const std::regex one("[^,]+");
  Flags flags;
  for (std::sregex_iterator it(help.begin(), help.end(), names), end; it != end; ++it) {
    const std::string list = (*it)[1];
    for (std::sregex_iterator f(list.begin(), list.end(), one); f != end; ++f)
      flags.insert(f->str());
  }
  EXPECT_GT(flags.size(), 1u) << "imgpipe " << word << " --help was captured";
  return flags;
}

// The command words, as the main --help's first lines name them ("imgpipe compare [OPTIONS]: ...",
// "imgpipe plan | run | status: ...").
std::set<std::string> command_words() {
  const std::string help = help_text("");
  const std::string header = help.substr(0, help.find("\nUsage:"));
  static const std::regex word(R"((?:imgpipe|\|) ([a-z]+))");
  std::set<std::string> words;
  for (std::sregex_iterator it(header.begin(), header.end(), word), end; it != end; ++it)
    words.insert((*it)[1]);
  return words;
}

// Each command and the section that documents its flags: OPTIONS for a plain run and for a word
// that takes the same options (compare: its --help is the plain run's), else its own section.
std::map<std::string, std::string> commands() {
  std::map<std::string, std::string> sections = {{"", ".SH OPTIONS"}};
  for (const std::string& w : command_words())
    sections[w] = help_text(w) == help_text("") ? ".SH OPTIONS" : ".SS \"imgpipe " + w + "\"";
  return sections;
}

// Each command word has its section under COMMANDS.
TEST(ManPage, HasASectionForEveryCommand) {
  ASSERT_FALSE(page().empty()) << IMGPIPE_MAN_PAGE << " not found";
  const std::set<std::string> words = command_words();
  EXPECT_EQ(words, (std::set<std::string>{"compare", "plan", "run", "status"}))
      << "a new command word? document it, then name it here";
  for (const std::string& w : words)
    EXPECT_FALSE(section(".SS \"imgpipe " + w + "\"").empty()) << "no section for imgpipe " << w;
}

// Each flag of a command's --help is in its section: as an item of its own in OPTIONS, named at
// least in a command's section (plan and run list the options they share with a plain run).
TEST(ManPage, DocumentsEveryFlagOfEveryCommand) {
  ASSERT_FALSE(page().empty()) << IMGPIPE_MAN_PAGE << " not found";
  for (const auto& [word, heading] : commands()) {
    const std::string roff = section(heading);
    ASSERT_FALSE(roff.empty()) << "no section " << heading;
    Flags documented;
    if (heading == ".SH OPTIONS") {
      for (const std::string& tag : item_tags(roff)) documented.merge(flags_in(tag));
    } else {
      documented = flags_in(plain(roff));
    }
    const std::string command = word.empty() ? "imgpipe" : "imgpipe " + word;
    for (const std::string& f : help_flags(word))
      EXPECT_TRUE(documented.count(f)) << f << " (" << command << " --help) is not documented in "
                                       << "docs/imgpipe.1.in under " << heading;
  }
}

// An item of a command's section is a flag that command has; a flag named anywhere on the page is
// one imgpipe has (or the other program's, in an example).
TEST(ManPage, NamesNoFlagTheCliLacks) {
  Flags all;
  for (const auto& [word, heading] : commands()) {
    const Flags flags = help_flags(word);
    all.insert(flags.begin(), flags.end());
    for (const std::string& tag : item_tags(section(heading)))
      for (const std::string& f : flags_in(tag))
        EXPECT_TRUE(flags.count(f)) << f << " is documented under " << heading << " but imgpipe "
                                    << word << " --help does not have it";
  }
  const Flags others = {"--array", "--wrap", "--install", "-v", "-r"};  // sbatch, cmake, grep, jq
  for (const std::string& f : flags_in(plain(page())))
    EXPECT_TRUE(all.count(f) || others.count(f)) << f << " is on the page but is no flag";
}

TEST(ManPage, ListsEveryStatus) {
  const std::set<std::string> listed = tag_words(section(".SS Statuses"));
  std::set<std::string> statuses;
  for (int s = 0; s < kStatusCount; ++s) statuses.insert(std::string(status_name(Status(s))));
  for (const std::string& s : statuses) EXPECT_TRUE(listed.count(s)) << s << " not under Statuses";
  for (const std::string& s : listed) EXPECT_TRUE(statuses.count(s)) << s << " is no status";
}

// Rows with every optional field: a failed one (retryable), and an ok one with two sizes in a
// webdataset tar, a duplicate, warnings and input columns.
std::vector<nlohmann::ordered_json> rich_rows() {
  Item failed;
  failed.fail(Status::kTimeout, "timed out");
  Item ok;
  ok.duplicate_of = 3;
  ok.warnings = {"Corrupt JPEG data"};
  ok.input_fields = {{"id", 7}};
  for (int side : {128, 256}) {
    Thumb t;
    t.width = t.height = side;
    t.path = "00000.tar";
    t.member = "00000001." + std::to_string(side) + ".jpg";
    ok.thumbs.push_back(std::move(t));
  }
  return {manifest_row(failed), manifest_row(ok)};
}

// The top-level fields are items under Fields; the keys inside ms, download_ms and outputs are
// named in the MANIFEST section. Every item is a field a row has.
TEST(ManPage, ListsEveryManifestField) {
  const std::set<std::string> items = tag_words(section(".SS Fields"));
  const std::string text = plain(section(".SH MANIFEST"));
  std::set<std::string> fields;
  for (const auto& row : rich_rows()) {
    for (const auto& [key, value] : row.items()) {
      fields.insert(key);
      EXPECT_TRUE(items.count(key)) << key << " is not an item under Fields";
      if (key == "input") continue;  // the list's own columns
      const bool nested = value.is_array() && !value.empty();
      const auto& inner = nested ? value.front() : value;
      if (!inner.is_object()) continue;
      for (const auto& [sub, _] : inner.items())
        EXPECT_TRUE(std::regex_search(text, std::regex("\\b" + sub + "\\b")))
            << key << "." << sub << " is not named under MANIFEST";
    }
  }
  for (const std::string& item : items) EXPECT_TRUE(fields.count(item)) << item << " is no field";
}

// The version CMake filled in is the binary's, and no @VAR@ is left.
TEST(ManPage, CarriesTheVersion) {
  EXPECT_NE(page().find("\n.TH IMGPIPE 1 "), std::string::npos);
  EXPECT_NE(page().find("\"imgpipe " IMGPIPE_VERSION "\""), std::string::npos);
  EXPECT_FALSE(std::regex_search(page(), std::regex("@[A-Z_]+@")));
}

// Exit status and output of a shell command (stderr merged in, as the command says).
std::pair<int, std::string> shell(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = p ? pclose(p) : -1;
  return {status, out};
}

// groff with every warning on, man-db's own check, and lexgrog (what mandb reads for apropos):
// .ci/setup.sh installs groff-base and man-db. Missing, they fail here rather than pass unseen.
TEST(ManPage, GroffManAndLexgrogFindNothingToSay) {
  const std::string path = IMGPIPE_MAN_PAGE;
  auto [groff_status, groff] = shell("groff -man -ww -z " + path + " 2>&1");
  EXPECT_EQ(groff_status, 0) << groff;
  EXPECT_EQ(groff, "") << "groff -ww -z warns";
  auto [man_status, man] =
      shell("MANWIDTH=80 man --warnings -E UTF-8 -l " + path + " 2>&1 >/dev/null");
  EXPECT_EQ(man_status, 0) << man;
  EXPECT_EQ(man, "") << "man --warnings warns";
  auto [lexgrog_status, lexgrog] = shell("lexgrog " + path + " 2>&1");
  EXPECT_EQ(lexgrog_status, 0) << lexgrog;
  EXPECT_NE(lexgrog.find("\"imgpipe - download image URLs"), std::string::npos) << lexgrog;
}

}  // namespace
}  // namespace imgpipe
