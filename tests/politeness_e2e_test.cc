// End-to-end tests of what imgpipe does to be a good citizen of the web: X-Robots-Tag opt-outs.
#include "fixtures/e2e_fixture.h"

namespace imgpipe {
namespace {

class PolitenessE2eTest : public E2eTest {
 protected:
  // The image at /robots-tag/40x30.jpg with one X-Robots-Tag header per tag.
  std::string tagged(const std::vector<std::string>& tags, const std::string& what = "40x30.jpg") {
    std::string url = server_.url("/robots-tag/" + what);
    for (size_t i = 0; i < tags.size(); ++i) url += (i ? "&tag=" : "?tag=") + escaped(tags[i]);
    return url;
  }
  static std::string escaped(const std::string& s) {
    std::string out;
    for (char c : s) out += c == ' ' ? std::string("%20") : c == ':' ? "%3A" : std::string(1, c);
    return out;
  }
  // A URL as a query value: its own ? and = escaped.
  static std::string query_escaped(const std::string& url) {
    std::string out;
    for (char c : url) out += c == '?' ? std::string("%3F") : c == '=' ? "%3D" : std::string(1, c);
    return out;
  }
  // Line → status of a run over `lines` with `flags`.
  std::map<int, std::string> statuses(const std::vector<std::string>& lines,
                                      std::vector<std::string> flags, const std::string& name) {
    const fs::path out = dir_ / name;
    flags.insert(flags.end(), {"-i", write_list(lines).string(), "-o", out.string(), "--quiet"});
    Outcome r = run(flags);
    EXPECT_LE(r.exit_code, 1) << r.err;
    std::map<int, std::string> by_line;
    for (const auto& [line, row] : manifest(out)) {
      by_line[line] = row["status"];
      if (row["status"] == "opted_out") {
        EXPECT_NE(row["error"].get<std::string>().find("X-Robots-Tag says"), std::string::npos)
            << row.dump();
        EXPECT_EQ(row["output"], "") << row.dump();
        EXPECT_EQ(row["bytes"], 0) << "judged before the body is kept: " << row.dump();
        EXPECT_EQ(row["retryable"], false) << row.dump();
      }
    }
    return by_line;
  }
};

// img2dataset's directives are honoured by default, for every agent or addressed to imgpipe, from
// the headers alone (an empty body too, and after a redirect); other agents' and other
// directives are not.
TEST_F(PolitenessE2eTest, XRobotsTagOptOutsAreHonouredByDefault) {
  const std::vector<std::string> lines = {
      tagged({"noai"}),
      tagged({"nofollow", "NoImageAI"}),
      tagged({"imgpipe: noindex"}),
      tagged({"googlebot: noai"}),
      tagged({"noarchive, max-image-preview: none"}),
      tagged({}),
      tagged({"noml"}, "empty"),
      server_.url("/redirect-to?u=") + query_escaped(tagged({"noimageindex"})),
  };
  const std::map<int, std::string> want = {
      {1, "opted_out"}, {2, "opted_out"}, {3, "opted_out"}, {4, "ok"},
      {5, "ok"},        {6, "ok"},        {7, "opted_out"}, {8, "opted_out"},
  };
  EXPECT_EQ(statuses(lines, {}, "default"), want);
}

// --disallowed-directives replaces the list; '' turns the check off.
TEST_F(PolitenessE2eTest, DisallowedDirectivesChooseWhatOptsOut) {
  const std::vector<std::string> lines = {tagged({"noai"}), tagged({"noarchive"})};
  EXPECT_EQ(statuses(lines, {"--disallowed-directives", "NoArchive, noml"}, "own"),
            (std::map<int, std::string>{{1, "ok"}, {2, "opted_out"}}));
  EXPECT_EQ(statuses(lines, {"--disallowed-directives", ""}, "off"),
            (std::map<int, std::string>{{1, "ok"}, {2, "ok"}}));
}

// --robots: one robots.txt fetch for the origin, before its first image; the group for imgpipe
// (not the `*` one) decides, longest match first; a disallowed line ends robots_disallowed
// without a request, and Crawl-delay spaces the starts. Without --robots, robots.txt is not
// asked for at all.
TEST_F(PolitenessE2eTest, RobotsTxtIsHonouredWithRobots) {
  server_.set_robots_txt(200,
                         "User-agent: *\nDisallow: /\n\n"
                         "User-agent: imgpipe\nDisallow: /image/2\nAllow: /image/20x20.jpg\n"
                         "Crawl-delay: 0.3\n");
  const std::vector<std::string> lines = {
      server_.url("/image/20x20.jpg"), server_.url("/image/21x20.jpg"),
      server_.url("/image/30x20.jpg"), server_.url("/image/31x20.jpg")};
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(
      statuses(lines, {"--robots"}, "robots"),
      (std::map<int, std::string>{{1, "ok"}, {2, "robots_disallowed"}, {3, "ok"}, {4, "ok"}}));
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.6)
      << "three fetches 0.3 s apart";
  EXPECT_EQ(server_.hits("/robots.txt"), 1);
  EXPECT_EQ(server_.hits("/image/21x20.jpg"), 0);
  const json row = manifest(dir_ / "robots")[2];
  EXPECT_EQ(row["error"], "robots.txt disallows it (Disallow: /image/2)");
  EXPECT_EQ(row["retryable"], false);
  EXPECT_EQ(row["attempts"], 0);

  EXPECT_EQ(statuses(lines, {}, "without").at(2), "ok");
  EXPECT_EQ(server_.hits("/robots.txt"), 1) << "not asked for without --robots";
}

// RFC 9309 §2.3.1: a robots.txt that is missing (4xx) allows everything; one the server fails to
// give (5xx) or that cannot be reached disallows everything, for now: retryable.
TEST_F(PolitenessE2eTest, RobotsTxtErrorsAllowOrDisallowAsTheRfcSays) {
  const std::vector<std::string> lines = small_images(server_, 2);
  server_.set_robots_txt(404, "");
  EXPECT_EQ(statuses(lines, {"--robots"}, "missing"),
            (std::map<int, std::string>{{1, "ok"}, {2, "ok"}}));
  server_.set_robots_txt(503, "");
  EXPECT_EQ(statuses(lines, {"--robots"}, "failing"),
            (std::map<int, std::string>{{1, "robots_disallowed"}, {2, "robots_disallowed"}}));
  for (const auto& [line, row] : manifest(dir_ / "failing")) {
    EXPECT_NE(row["error"].get<std::string>().find("HTTP 503"), std::string::npos) << row;
    EXPECT_EQ(row["retryable"], true) << row;
  }
  EXPECT_EQ(server_.hits("/image/20x20.jpg"), 1) << "only the run that was allowed";

  const auto unreachable = statuses({"http://127.0.0.1:1/a.jpg"}, {"--robots"}, "unreachable");
  EXPECT_EQ(unreachable.at(1), "robots_disallowed");
  const json row = manifest(dir_ / "unreachable")[1];
  EXPECT_NE(row["error"].get<std::string>().find("robots.txt could not be fetched"),
            std::string::npos)
      << row;
  EXPECT_EQ(row["retryable"], true);
}

// Sites see who fetches: the tool's name and version, and the --contact of whoever runs it.
TEST_F(PolitenessE2eTest, TheUserAgentNamesTheToolAndTheContact) {
  const std::vector<std::string> lines = small_images(server_, 1);
  EXPECT_EQ(statuses(lines, {"--contact", "mailto:ops@example.org"}, "contact"),
            (std::map<int, std::string>{{1, "ok"}}));
  EXPECT_EQ(server_.last_headers("/image/20x20.jpg")["user-agent"],
            std::string("imgpipe/") + IMGPIPE_VERSION + " (+mailto:ops@example.org)");
}

}  // namespace
}  // namespace imgpipe
