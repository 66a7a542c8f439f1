// Tests for RobotsRules and robots_path_of: which URLs a robots.txt lets imgpipe fetch.
// Many cases follow google/robotstxt's robots_test.cc (Apache-2.0), rewritten for this API; the
// RFC 9309 section each covers is named beside it.
#include "stages/robots_txt.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace imgpipe {
namespace {

bool allowed(std::string_view body, std::string_view path,
             std::string_view agent = kRobotsAgentToken) {
  return RobotsRules::parse(body, agent).allowed(path);
}

TEST(RobotsTxt, AnEmptyFileAllowsEverything) {
  EXPECT_TRUE(allowed("", "/"));
  EXPECT_TRUE(allowed("", "/any/thing?x=1"));
  EXPECT_TRUE(allowed("\n\n# only a comment\n", "/x"));
  EXPECT_EQ(RobotsRules::parse("").rule_count(), 0u);
}

TEST(RobotsTxt, AllowAllAndDisallowAllSayWhatTheyAre) {
  EXPECT_TRUE(RobotsRules::allow_all().allowed("/x"));
  EXPECT_FALSE(RobotsRules::disallow_all().allowed("/x"));
  EXPECT_FALSE(RobotsRules::disallow_all().allowed("/"));
  EXPECT_EQ(RobotsRules::allow_all().deciding_rule("/x"), "");
  EXPECT_EQ(RobotsRules::disallow_all().deciding_rule("/x"), "");
  EXPECT_EQ(RobotsRules::disallow_all().crawl_delay(), 0);
}

// §2.2.1: a crawler obeys the group naming it; only without one the `*` group.
TEST(RobotsTxt, OurGroupIsChosenOverTheStarGroup) {
  const std::string_view txt =
      "User-agent: *\n"
      "Disallow: /x/\n"
      "\n"
      "User-agent: imgpipe\n"
      "Disallow: /y/\n";
  EXPECT_TRUE(allowed(txt, "/x/page")) << "our group allows /x/ implicitly";
  EXPECT_FALSE(allowed(txt, "/y/page"));
  EXPECT_FALSE(allowed(txt, "/x/page", "otherbot")) << "the * group, for anyone else";
  EXPECT_TRUE(allowed(txt, "/y/page", "otherbot"));
}

TEST(RobotsTxt, TheStarGroupAppliesWhenNoGroupNamesUs) {
  const std::string_view txt =
      "User-agent: googlebot\n"
      "Allow: /\n"
      "\n"
      "User-agent: *\n"
      "Disallow: /\n";
  EXPECT_FALSE(allowed(txt, "/a"));
  EXPECT_TRUE(allowed(txt, "/a", "googlebot"));
}

TEST(RobotsTxt, OtherBotsGroupsDoNotApply) {
  const std::string_view txt =
      "User-agent: googlebot\n"
      "Disallow: /\n"
      "User-agent: bingbot\n"
      "Disallow: /\n";
  EXPECT_TRUE(allowed(txt, "/a")) << "no group names us and there is no * group: no rules";
  EXPECT_FALSE(allowed(txt, "/a", "bingbot"));
}

// §2.2.1: names match without regard to case, by the product token (letters, '-', '_').
TEST(RobotsTxt, AgentsAreMatchedByProductTokenWithoutRegardToCase) {
  for (std::string_view ua : {"imgpipe", "ImgPipe", "IMGPIPE", "imgpipe/1.0",
                              "imgpipe (+https://example.com/bot)", "imgpipe*", " imgpipe"}) {
    const std::string txt = "User-agent: " + std::string(ua) + "\nDisallow: /\n";
    EXPECT_FALSE(allowed(txt, "/a")) << ua;
  }
  for (std::string_view ua :
       {"imgpipes", "imgpipe-images", "img", "imgpipe_x", "x imgpipe", "/imgpipe", ""}) {
    const std::string txt = "User-agent: " + std::string(ua) + "\nDisallow: /\n";
    EXPECT_TRUE(allowed(txt, "/a")) << "'" << ua << "' is not us";
  }
  // Our own name is reduced to its token too.
  EXPECT_FALSE(allowed("User-agent: imgpipe\nDisallow: /\n", "/a", "ImgPipe/2.3 (+http://x)"));
  EXPECT_TRUE(allowed("User-agent: imgpipe\nDisallow: /\n", "/a", ""))
      << "an empty agent is named by no group";
  EXPECT_TRUE(allowed("User-agent: \nDisallow: /\n", "/a", "")) << "not even an empty one";
}

// Google: "* foo" still means every agent; "*bot" means none.
TEST(RobotsTxt, AStarFollowedBySpaceIsStillTheStarGroup) {
  EXPECT_FALSE(allowed("User-agent: * # all\nDisallow: /\n", "/a"));
  EXPECT_FALSE(allowed("User-agent: * everyone\nDisallow: /\n", "/a"));
  EXPECT_TRUE(allowed("User-agent: *bot\nDisallow: /\n", "/a"));
}

TEST(RobotsTxt, SeveralUserAgentLinesShareOneGroup) {
  const std::string_view txt =
      "User-agent: googlebot\n"
      "User-agent: imgpipe\n"
      "User-agent: bingbot\n"
      "Disallow: /private\n";
  EXPECT_FALSE(allowed(txt, "/private/a"));
  EXPECT_FALSE(allowed(txt, "/private/a", "bingbot"));
  EXPECT_TRUE(allowed(txt, "/public"));
}

// §2.2.1: groups naming the same agent are combined, wherever they are in the file.
TEST(RobotsTxt, GroupsThatNameUsAreMerged) {
  const std::string_view txt =
      "User-agent: imgpipe\n"
      "Disallow: /a\n"
      "\n"
      "User-agent: *\n"
      "Disallow: /c\n"
      "\n"
      "User-agent: otherbot\n"
      "User-agent: IMGPIPE/3\n"
      "Disallow: /b\n"
      "Allow: /a/open\n";
  EXPECT_FALSE(allowed(txt, "/a"));
  EXPECT_FALSE(allowed(txt, "/b"));
  EXPECT_TRUE(allowed(txt, "/a/open/x")) << "an Allow from the second group beats the first's";
  EXPECT_TRUE(allowed(txt, "/c")) << "the * group is not merged in";
}

TEST(RobotsTxt, StarGroupsAreMergedToo) {
  const std::string_view txt =
      "User-agent: *\n"
      "Disallow: /a\n"
      "User-agent: otherbot\n"
      "Disallow: /b\n"
      "User-agent: *\n"
      "Disallow: /c\n";
  EXPECT_FALSE(allowed(txt, "/a"));
  EXPECT_TRUE(allowed(txt, "/b"));
  EXPECT_FALSE(allowed(txt, "/c"));
}

// §2.1, after google/robotstxt ID_LineSyntax_Groups: rules before any User-agent line, or after
// a group's rules with no new User-agent line, belong to the group before them or to none.
TEST(RobotsTxt, RulesOutsideGroupsAreIgnored) {
  const std::string_view txt =
      "allow: /foo/bar/\n"
      "\n"
      "user-agent: FooBot\n"
      "disallow: /\n"
      "allow: /x/\n"
      "user-agent: BarBot\n"
      "disallow: /\n"
      "allow: /y/\n"
      "\n"
      "\n"
      "allow: /w/\n"
      "user-agent: BazBot\n"
      "\n"
      "user-agent: FooBot\n"
      "allow: /z/\n"
      "disallow: /\n";
  EXPECT_TRUE(allowed(txt, "/x/b", "FooBot"));
  EXPECT_TRUE(allowed(txt, "/z/d", "FooBot"));
  EXPECT_FALSE(allowed(txt, "/y/c", "FooBot"));
  EXPECT_TRUE(allowed(txt, "/y/c", "BarBot"));
  EXPECT_TRUE(allowed(txt, "/w/a", "BarBot")) << "a blank line does not end BarBot's group";
  EXPECT_FALSE(allowed(txt, "/z/d", "BarBot"));
  EXPECT_TRUE(allowed(txt, "/z/d", "BazBot")) << "BazBot shares FooBot's last group";
  EXPECT_FALSE(allowed(txt, "/foo/bar/", "FooBot")) << "the rule before any group is dropped";
  EXPECT_FALSE(allowed(txt, "/foo/bar/", "BarBot"));
}

// Google: Sitemap and unknown lines are in no group, so they do not end a run of User-agent
// lines either.
TEST(RobotsTxt, SitemapAndUnknownLinesDoNotEndAGroup) {
  EXPECT_FALSE(allowed(
      "User-agent: imgpipe\nSitemap: https://example.com/sitemap.xml\nUser-agent: *\nDisallow: /\n",
      "/"));
  EXPECT_FALSE(
      allowed("User-agent: imgpipe\nHost: example.com\nUser-agent: *\nDisallow: /\n", "/"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /a\nSitemap: /s.xml\nDisallow: /b\n", "/b"))
      << "nor end a group's rules";
}

// Crawl-delay is a group member: a User-agent line after it starts a new group.
TEST(RobotsTxt, CrawlDelayEndsARunOfUserAgentLines) {
  const RobotsRules r = RobotsRules::parse(
      "User-agent: imgpipe\nCrawl-delay: 4\nUser-agent: otherbot\nDisallow: /\n");
  EXPECT_TRUE(r.allowed("/"));
  EXPECT_EQ(r.crawl_delay(), 4);
}

// §2.1: keys are case-insensitive. Google also takes a few frequent misspellings.
TEST(RobotsTxt, KeysAreCaseInsensitiveAndCommonTyposCount) {
  EXPECT_FALSE(allowed("USER-AGENT: imgpipe\nALLOW: /x/\nDISALLOW: /\n", "/a/b"));
  EXPECT_TRUE(allowed("USER-AGENT: imgpipe\nALLOW: /x/\nDISALLOW: /\n", "/x/y"));
  EXPECT_FALSE(allowed("uSeR-aGeNt: imgpipe\ndIsAlLoW: /\n", "/a"));
  for (std::string_view ua : {"useragent", "user agent", "User Agent", "UserAgent"})
    EXPECT_FALSE(allowed(std::string(ua) + ": imgpipe\nDisallow: /\n", "/a")) << ua;
  for (std::string_view d : {"dissallow", "dissalow", "disalow", "diasllow", "disallaw", "DisAlow"})
    EXPECT_FALSE(allowed("User-agent: *\n" + std::string(d) + ": /\n", "/a")) << d;
  // Keys are whole words: no prefixes, no other misspellings.
  for (std::string_view k : {"disallowed", "disallo", "dis-allow", "user-agents", "allowance"})
    EXPECT_TRUE(allowed("User-agent: *\n" + std::string(k) + ": /\n", "/a")) << k;
  EXPECT_TRUE(allowed("user-agents: *\nDisallow: /\n", "/a"));
}

TEST(RobotsTxt, WhitespaceAroundKeysAndValuesIsIgnored) {
  EXPECT_FALSE(allowed("  User-agent  :   imgpipe  \n\tDisallow\t:\t/a\t\n", "/a"));
  EXPECT_TRUE(allowed("  User-agent  :   imgpipe  \n\tDisallow\t:\t/a\t\n", "/b"));
  EXPECT_FALSE(allowed("User-agent:imgpipe\nDisallow:/a\n", "/a"));
}

// Google: "disallow /" means "disallow: /" when the line holds exactly two words.
TEST(RobotsTxt, AMissingColonIsAcceptedForTwoWordLines) {
  EXPECT_FALSE(allowed("user-agent imgpipe\ndisallow /\n", "/x/y"));
  EXPECT_FALSE(allowed("user-agent\timgpipe\ndisallow  /x\n", "/x/y"));
  EXPECT_TRUE(allowed("user-agent imgpipe\ndisallow / x\n", "/x/y")) << "three words: garbage";
  EXPECT_TRUE(allowed("foo: imgpipe\nbar: /\n", "/x/y"));
}

// §2.2.2 (google/robotstxt ID_LongestMatch): the most specific, i.e. longest, match decides.
TEST(RobotsTxt, LongestMatchWins) {
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /x/page.html\nAllow: /x/\n", "/x/page.html"));
  EXPECT_TRUE(allowed("User-agent: *\nAllow: /x/page.html\nDisallow: /x/\n", "/x/page.html"));
  EXPECT_FALSE(allowed("User-agent: *\nAllow: /x/page.html\nDisallow: /x/\n", "/x/"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /x\nAllow: /x/\n", "/x"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /x\nAllow: /x/\n", "/x/"));
  // Length is the pattern's, wildcards included, not how much of the path it covers.
  EXPECT_FALSE(allowed("User-agent: *\nAllow: /page\nDisallow: /*.html\n", "/page.html"));
  EXPECT_TRUE(allowed("User-agent: *\nAllow: /page\nDisallow: /*.html\n", "/page"));
  EXPECT_TRUE(allowed("User-agent: *\nAllow: /x/page.\nDisallow: /*.html\n", "/x/page.html"));
  EXPECT_FALSE(allowed("User-agent: *\nAllow: /x/page.\nDisallow: /*.html\n", "/x/y.html"));
  EXPECT_TRUE(allowed("User-agent: *\nAllow: /p\nDisallow: /\n", "/page"));
  EXPECT_FALSE(allowed("User-agent: *\nAllow: /page\nDisallow: /*.htm\n", "/page.htm"));
  // Order in the file does not matter.
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /x/\nAllow: /x/page.html\n", "/x/page.html"));
}

// §2.2.2: on equal length, the least restrictive rule (Allow) is used.
TEST(RobotsTxt, AllowWinsATie) {
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /\nAllow: /\n", "/x"));
  EXPECT_TRUE(
      allowed("User-agent: *\nDisallow: /x/page.html\nAllow: /x/page.html\n", "/x/page.html"));
  EXPECT_TRUE(allowed("User-agent: *\nAllow: /folder\nDisallow: /folder\n", "/folder/page"));
  EXPECT_TRUE(allowed("User-agent: *\nAllow: /a*c\nDisallow: /ab*\n", "/abc"))
      << "different patterns of the same length";
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /ab*\nAllow: /a*c\n", "/abc"));
}

// §2.2.2: rules match the path case-sensitively.
TEST(RobotsTxt, MatchingIsCaseSensitive) {
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /x/\n", "/x/y"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /X/\n", "/x/y"));
}

// §2.2.3 (google/robotstxt ID_SpecialCharacters).
TEST(RobotsTxt, StarMatchesAnyRunOfOctets) {
  const std::string_view txt = "User-agent: *\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n";
  EXPECT_FALSE(allowed(txt, "/foo/bar/quz"));
  EXPECT_TRUE(allowed(txt, "/foo/quz"));
  EXPECT_TRUE(allowed(txt, "/foo//quz"));
  EXPECT_TRUE(allowed(txt, "/foo/bax/quz"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /*a*b*c\n", "/xaybzc/d"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /*a*b*c\n", "/abc"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /*a*b*c\n", "/cba"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /a**b\n", "/a-b"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: *\n", "/anything"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: *.gif\n", "/a/b.gif?x"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /a*\n", "/b"));
}

TEST(RobotsTxt, DollarAnchorsThePatternAtTheEnd) {
  const std::string_view txt = "User-agent: *\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n";
  EXPECT_FALSE(allowed(txt, "/foo/bar"));
  EXPECT_TRUE(allowed(txt, "/foo/bar/qux"));
  EXPECT_TRUE(allowed(txt, "/foo/bar/"));
  EXPECT_TRUE(allowed(txt, "/foo/bar/baz"));
  EXPECT_TRUE(allowed(txt, "/foo/bar?x"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /*.gif$\n", "/a/b.gif"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /*.gif$\n", "/a/b.gif?x=1"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /*.gif$\n", "/a/b.gifs"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /a$b\n", "/a$b")) << "'$' inside is literal";
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /a$b\n", "/a"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /*$\n", "/x")) << "'*$' matches everything";
  EXPECT_TRUE(allowed("User-agent: *\nAllow: /$\nDisallow: /\n", "/"));
  EXPECT_FALSE(allowed("User-agent: *\nAllow: /$\nDisallow: /\n", "/page.html"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /ab*b$\n", "/abb"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /ab*b$\n", "/ab")) << "segments may not overlap";
}

// The examples of Google's robots.txt documentation (google/robotstxt
// GoogleOnly_DocumentationChecks), which sites copy.
TEST(RobotsTxt, GoogleDocumentationExamplesHold) {
  auto ok = [](std::string_view allow, std::string_view path) {
    return allowed("User-agent: imgpipe\nDisallow: /\nAllow: " + std::string(allow) + "\n", path);
  };
  for (std::string_view fish : {"/fish", "/fish*"}) {
    EXPECT_FALSE(ok(fish, "/bar"));
    EXPECT_TRUE(ok(fish, "/fish"));
    EXPECT_TRUE(ok(fish, "/fish.html"));
    EXPECT_TRUE(ok(fish, "/fish/salmon.html"));
    EXPECT_TRUE(ok(fish, "/fishheads/yummy.html"));
    EXPECT_TRUE(ok(fish, "/fish.html?id=anything"));
    EXPECT_FALSE(ok(fish, "/Fish.asp"));
    EXPECT_FALSE(ok(fish, "/catfish"));
    EXPECT_FALSE(ok(fish, "/?id=fish"));
  }
  EXPECT_TRUE(ok("/fish/", "/fish/salmon"));
  EXPECT_TRUE(ok("/fish/", "/fish/?id=anything"));
  EXPECT_FALSE(ok("/fish/", "/fish"));
  EXPECT_FALSE(ok("/fish/", "/fish.html"));
  EXPECT_TRUE(ok("/*.php", "/folder/filename.php?parameters"));
  EXPECT_TRUE(ok("/*.php", "//folder/any.php.file.html"));
  EXPECT_TRUE(ok("/*.php", "/index?f=filename.php/"));
  EXPECT_FALSE(ok("/*.php", "/index?php"));
  EXPECT_FALSE(ok("/*.php", "/windows.PHP"));
  EXPECT_TRUE(ok("/*.php$", "/folder/filename.php"));
  EXPECT_FALSE(ok("/*.php$", "/filename.php?parameters"));
  EXPECT_FALSE(ok("/*.php$", "/filename.php5"));
  EXPECT_FALSE(ok("/*.php$", "/filename?php"));
  EXPECT_TRUE(ok("/fish*.php", "/fishheads/catfish.php?parameters"));
  EXPECT_FALSE(ok("/fish*.php", "/Fish.PHP"));
}

// RFC 9309 §2.2.2: an empty Disallow disallows nothing; an empty Allow allows nothing more.
TEST(RobotsTxt, EmptyRulesSayNothing) {
  EXPECT_TRUE(allowed("User-agent: *\nDisallow:\n", "/x"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: # nothing\n", "/x"));
  EXPECT_FALSE(allowed("User-agent: *\nAllow:\nDisallow: /\n", "/x"));
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nDisallow:\nAllow:\n").rule_count(), 0u);
  // An empty Disallow in our group still makes it ours: the * group no longer applies.
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /\nUser-agent: imgpipe\nDisallow:\n", "/x"));
}

// §2.2.2 (google/robotstxt ID_Encoding): octets outside US-ASCII are %-encoded before comparing.
// We encode the path the same way, and upper-case every %XX on both sides.
TEST(RobotsTxt, PercentEncodingIsNormalisedOnBothSides) {
  const std::string_view txt = "User-agent: *\nDisallow: /\nAllow: /foo/bar/ツ\n";
  EXPECT_TRUE(allowed(txt, "/foo/bar/%E3%83%84"));
  EXPECT_TRUE(allowed(txt, "/foo/bar/%e3%83%84"));
  EXPECT_TRUE(allowed(txt, "/foo/bar/ツ")) << "a raw UTF-8 path is encoded too";
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /\nAllow: /foo/bar/%e3%83%84\n", "/foo/bar/ツ"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /\nAllow: /caf%C3%A9\n", "/caf%c3%a9"));
  // Escapes of unreserved characters are not decoded (RFC 3986 says they should not be made).
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n", "/foo/bar/baz"));
  EXPECT_TRUE(
      allowed("User-agent: *\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n", "/foo/bar/%62%61%7a"));
  // Reserved characters, query strings and a bare '%' are left as they are.
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /\nAllow: /foo/bar?qux=taz&baz=http://foo.bar\n",
                      "/foo/bar?qux=taz&baz=http://foo.bar?tar&par"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /a%zz\n", "/a%zz/b"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /a%\n", "/a%"));
  // A space inside a value is a path's space: "/a b" and "/a%20b" are one path.
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /a b\n", "/a%20b"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /a%20b\n", "/a b"));
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nDisallow: /café\n").deciding_rule("/caf%c3%a9"),
            "Disallow: /caf%C3%A9");
}

// §2.2.3: '#' starts a comment anywhere on a line.
TEST(RobotsTxt, CommentsAreIgnored) {
  const std::string_view txt =
      "# robots.txt for example.com\n"
      "User-agent: * # everyone\n"
      "# Disallow: /\n"
      "Disallow: /foo/quz#qux\n"
      "Allow: /\n";
  EXPECT_TRUE(allowed(txt, "/foo/bar"));
  EXPECT_FALSE(allowed(txt, "/foo/quz"));
  EXPECT_TRUE(allowed("#User-agent: *\n#Disallow: /\n", "/a"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: #/\n", "/a"));
}

// §2.2 (google/robotstxt ID_LinesNumbersAreCountedCorrectly): LF, CRLF and CR all end lines.
TEST(RobotsTxt, LineEndsOfEveryKindWork) {
  for (std::string_view txt : {
           "User-agent: otherbot\nUser-agent: imgpipe\n\n\nAllow: /a/ok\nDisallow: /a\n",
           "User-agent: otherbot\r\nUser-agent: imgpipe\r\n\r\n\r\nAllow: /a/ok\r\nDisallow: "
           "/a\r\n",
           "User-agent: otherbot\rUser-agent: imgpipe\r\r\rAllow: /a/ok\rDisallow: /a\r",
           "User-agent: otherbot\nUser-agent: imgpipe\r\n\n\r\rAllow: /a/ok\r\nDisallow: /a",
       }) {
    const RobotsRules r = RobotsRules::parse(txt);
    EXPECT_FALSE(r.allowed("/a/b")) << txt;
    EXPECT_TRUE(r.allowed("/a/ok/1")) << txt;
    EXPECT_EQ(r.rule_count(), 2u) << txt;
  }
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /", "/x")) << "no final line end";
  EXPECT_FALSE(allowed("User-agent: *\r\rDisallow: /\r", "/x"));
  EXPECT_FALSE(allowed("\n\r\n\rUser-agent: *\n\rDisallow: /", "/x"));
}

// Google (ID_UTF8ByteOrderMarkIsSkipped): a BOM, or a leading part of one, starts some files.
TEST(RobotsTxt, AByteOrderMarkIsSkipped) {
  EXPECT_FALSE(allowed("\xEF\xBB\xBFUser-agent: *\nDisallow: /\n", "/x"));
  EXPECT_FALSE(allowed("\xEF\xBBUser-agent: *\nDisallow: /\n", "/x"));
  EXPECT_FALSE(allowed("\xEFUser-agent: *\nDisallow: /\n", "/x"));
  EXPECT_TRUE(allowed("\xEF\x11\xBFUser-agent: *\nDisallow: /\n", "/x"))
      << "a broken BOM makes the first line garbage, so the rule is in no group";
  EXPECT_FALSE(
      allowed("User-agent: *\n\xEF\xBB\xBF"
              "Disallow: /a\nDisallow: /b\n",
              "/b"));
  EXPECT_TRUE(
      allowed("User-agent: *\n\xEF\xBB\xBF"
              "Disallow: /a\n",
              "/a"))
      << "only at the start of the file";
}

TEST(RobotsTxt, GarbageLinesAreSkipped) {
  std::string txt = "User-agent: *\n";
  const char junk[] = "\0\x01\xff\xfe garbage \x7f\n";
  txt += std::string(junk, sizeof junk - 1);
  txt += ":\n: /x\n:::\nno colon here at all\n<html><body>Not Found</body></html>\n";
  txt += "Disallow: /private\n";
  txt += std::string(1000, 'z') + "\n";
  const RobotsRules r = RobotsRules::parse(txt);
  EXPECT_FALSE(r.allowed("/private/a")) << "the group survives the garbage";
  EXPECT_TRUE(r.allowed("/x"));
  EXPECT_EQ(r.rule_count(), 1u);
  // An HTML error page served with 200 is no robots.txt: nothing in it is a rule.
  EXPECT_TRUE(
      allowed("<!DOCTYPE html>\n<html><head><title>404</title></head>\n"
              "<body>User-agent: * Disallow: /</body></html>\n",
              "/x"));
  // NUL inside a value is just another octet.
  const char nul[] = "User-agent: *\nDisallow: /a\0b\n";
  EXPECT_FALSE(allowed(std::string(nul, sizeof nul - 1), "/a%00b"));
}

// §2.2.2: /robots.txt is implicitly allowed.
TEST(RobotsTxt, RobotsTxtItselfIsAlwaysAllowed) {
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /\n", "/robots.txt"));
  EXPECT_TRUE(allowed("User-agent: *\nDisallow: /robots.txt\n", "/robots.txt"));
  EXPECT_TRUE(RobotsRules::disallow_all().allowed("/robots.txt"));
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nDisallow: /\n").deciding_rule("/robots.txt"), "");
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /\n", "/robots.txt.bak"));
  EXPECT_FALSE(allowed("User-agent: *\nDisallow: /\n", "/a/robots.txt"));
}

// §2.3.1: the fetch's status decides whether the body is read at all.
TEST(RobotsTxt, TheStatusDecidesWhetherTheBodyCounts) {
  const std::string_view none = "User-agent: *\nDisallow: /\n";
  const std::string_view all = "User-agent: *\nAllow: /\n";
  EXPECT_FALSE(RobotsRules::from_response(200, none).allowed("/x")) << "2xx: the body's rules";
  EXPECT_TRUE(RobotsRules::from_response(200, all).allowed("/x"));
  EXPECT_FALSE(RobotsRules::from_response(203, none).allowed("/x"));
  EXPECT_TRUE(RobotsRules::from_response(204, "").allowed("/x"));
  for (long unavailable : {400L, 401L, 403L, 404L, 410L, 451L, 499L}) {
    EXPECT_TRUE(RobotsRules::from_response(unavailable, none).allowed("/x"))
        << unavailable << ": unavailable, everything allowed, the (error page) body ignored";
  }
  for (long too_many_redirects : {301L, 302L, 307L, 308L}) {
    EXPECT_TRUE(RobotsRules::from_response(too_many_redirects, none).allowed("/x"))
        << too_many_redirects << ": more than 5 redirects counts as unavailable";
  }
  for (long unreachable : {429L, 500L, 502L, 503L, 504L, 599L}) {
    EXPECT_FALSE(RobotsRules::from_response(unreachable, all).allowed("/x"))
        << unreachable << ": unreachable, nothing allowed";
    EXPECT_TRUE(RobotsRules::from_response(unreachable, all).allowed("/robots.txt"));
  }
  for (long no_answer : {0L, -1L, 100L, 199L, 600L, 999L}) {
    EXPECT_FALSE(RobotsRules::from_response(no_answer, all).allowed("/x"))
        << no_answer << ": no usable answer, nothing allowed";
  }
  EXPECT_TRUE(RobotsRules::from_response(200, "User-agent: imgpipe\nDisallow: /\n", "otherbot")
                  .allowed("/x"))
      << "the agent is passed on";
}

TEST(RobotsTxt, CrawlDelayIsReadFromTheChosenGroup) {
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nCrawl-delay: 10\n").crawl_delay(), 10);
  EXPECT_EQ(RobotsRules::parse("User-agent: imgpipe\ncrawl-delay: 2.5\n").crawl_delay(), 2.5);
  EXPECT_EQ(RobotsRules::parse("User-agent: imgpipe\nCrawlDelay: .5\n").crawl_delay(), 0.5);
  EXPECT_EQ(RobotsRules::parse("User-agent: imgpipe\nCrawl-delay: 3.\n").crawl_delay(), 3);
  EXPECT_EQ(RobotsRules::parse("").crawl_delay(), 0) << "absent";
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nDisallow: /\n").crawl_delay(), 0);
  const std::string_view txt =
      "Crawl-delay: 1\n"  // before any group: ignored
      "User-agent: *\n"
      "Crawl-delay: 9\n"
      "User-agent: otherbot\n"
      "Crawl-delay: 7\n"
      "User-agent: imgpipe\n"
      "Disallow: /x\n"
      "Crawl-delay: 2\n"
      "Crawl-delay: 3\n";
  EXPECT_EQ(RobotsRules::parse(txt).crawl_delay(), 2) << "ours, and the first one";
  EXPECT_EQ(RobotsRules::parse(txt, "otherbot").crawl_delay(), 7);
  EXPECT_EQ(RobotsRules::parse(txt, "thirdbot").crawl_delay(), 9);
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nCrawl-delay: 9\nUser-agent: imgpipe\nDisallow: /\n")
                .crawl_delay(),
            0)
      << "the * group's delay is not ours once a group names us";
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nCrawl-delay: 0\nCrawl-delay: 5\n").crawl_delay(), 0)
      << "0 is a valid value, and the first";
  EXPECT_EQ(RobotsRules::from_response(503, "User-agent: *\nCrawl-delay: 5\n").crawl_delay(), 0);
}

TEST(RobotsTxt, InvalidCrawlDelaysAreIgnored) {
  for (std::string_view bad : {"-1", "-0.5", "inf", "INF", "nan", "NaN", "1e3", "0x10", "5s", "1,5",
                               "+5", ".", "", "1 2", "1.2.3", "ten", "infinity"}) {
    const std::string txt = "User-agent: *\nCrawl-delay: " + std::string(bad) + "\n";
    const double d = RobotsRules::parse(txt).crawl_delay();
    EXPECT_EQ(d, 0) << "'" << bad << "'";
    EXPECT_FALSE(std::isnan(d));
    // An invalid value is skipped, not taken as the first.
    EXPECT_EQ(RobotsRules::parse(txt + "Crawl-delay: 4\n").crawl_delay(), 4) << "'" << bad << "'";
  }
}

TEST(RobotsTxt, HugeCrawlDelaysAreClamped) {
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nCrawl-delay: 60\n").crawl_delay(), 60);
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nCrawl-delay: 60.5\n").crawl_delay(),
            kRobotsMaxCrawlDelay);
  EXPECT_EQ(RobotsRules::parse("User-agent: *\nCrawl-delay: 3600\n").crawl_delay(),
            kRobotsMaxCrawlDelay);
  const std::string digits(5000, '9');
  const double d = RobotsRules::parse("User-agent: *\nCrawl-delay: " + digits + "." + digits + "\n")
                       .crawl_delay();
  EXPECT_EQ(d, kRobotsMaxCrawlDelay) << "past double's range: still finite, still clamped";
  EXPECT_NEAR(RobotsRules::parse("User-agent: *\nCrawl-delay: 0." + digits + "\n").crawl_delay(), 1,
              1e-9);
}

// §2.5: we read 500 KiB and no more.
TEST(RobotsTxt, ABodyIsReadNoFurtherThanTheCap) {
  std::string txt = "User-agent: *\nDisallow: /early\n";
  const std::string filler = "# " + std::string(97, '.') + "\n";  // 100 bytes
  while (txt.size() < kRobotsTxtMaxBytes) txt += filler;
  txt += "Disallow: /late\n";
  ASSERT_GT(txt.size(), kRobotsTxtMaxBytes);
  const RobotsRules r = RobotsRules::parse(txt);
  EXPECT_FALSE(r.allowed("/early"));
  EXPECT_TRUE(r.allowed("/late")) << "the rule past the cap is not read";
  EXPECT_FALSE(RobotsRules::from_response(200, txt).allowed("/early"));
  EXPECT_TRUE(RobotsRules::from_response(200, txt).allowed("/late"));
}

// A line the cut splits is dropped: "Disallow: /private" cut to "Disallow: /p" would say more.
TEST(RobotsTxt, ALineSplitByTheCapIsDropped) {
  std::string txt = "User-agent: *\n";
  txt += std::string(kRobotsTxtMaxBytes - txt.size() - 12, '#') + "\n";
  txt += "Disallow: /private\n";  // starts 11 bytes before the cut
  ASSERT_EQ(txt.find("Disallow") + 11, kRobotsTxtMaxBytes);
  EXPECT_TRUE(allowed(txt, "/p")) << "not cut to 'Disallow: /'";
  EXPECT_TRUE(allowed(txt, "/private"));
  // A line that ends right at the cut is whole, and kept.
  std::string whole = "User-agent: *\n";
  whole += std::string(kRobotsTxtMaxBytes - whole.size() - 15, '#') + "\n";
  whole += "Disallow: /pri";  // its '\n' is the first byte past the cut
  ASSERT_EQ(whole.size(), kRobotsTxtMaxBytes);
  whole += "\nDisallow: /after\n";
  EXPECT_FALSE(allowed(whole, "/pri"));
  EXPECT_TRUE(allowed(whole, "/after"));
  // The same at the exact size: nothing is cut.
  EXPECT_FALSE(allowed(whole.substr(0, kRobotsTxtMaxBytes), "/pri"));
}

// Only the chosen groups' rules are kept, each once.
TEST(RobotsTxt, OnlyTheChosenRulesAreKept) {
  std::string txt = "User-agent: otherbot\n";
  for (int i = 0; txt.size() < 400 * 1024; ++i)
    txt += "Disallow: /other/" + std::to_string(i) + "\n";
  txt += "User-agent: *\n";
  for (int i = 0; i < 1000; ++i) txt += "Disallow: /star/" + std::to_string(i) + "\n";
  txt += "User-agent: imgpipe\nDisallow: /ours\n";
  for (int i = 0; i < 1000; ++i) txt += "Disallow: /same\n";
  const RobotsRules r = RobotsRules::parse(txt);
  EXPECT_EQ(r.rule_count(), 2u);
  EXPECT_LT(r.memory_bytes(), 1024u);
  EXPECT_FALSE(r.allowed("/same"));
  EXPECT_TRUE(r.allowed("/other/1"));
  EXPECT_TRUE(r.allowed("/star/1"));
  const RobotsRules star = RobotsRules::parse(txt, "thirdbot");
  EXPECT_EQ(star.rule_count(), 1000u);
  EXPECT_GE(star.memory_bytes(), 1000u * 9) << "at least the patterns' bytes";
  EXPECT_LT(star.memory_bytes(), 40u * 1024);
}

TEST(RobotsTxt, MemoryStaysBoundedForAFullFile) {
  // 500 KiB of non-ASCII patterns: the worst growth (each octet stored as %XX).
  std::string txt = "User-agent: *\n";
  for (int i = 0; txt.size() < kRobotsTxtMaxBytes; ++i)
    txt += "Disallow: /" + std::to_string(i) + std::string(40, '\xE9') + "\n";
  const RobotsRules r = RobotsRules::parse(txt);
  EXPECT_GT(r.rule_count(), 5000u);
  EXPECT_LT(r.memory_bytes(), 3 * kRobotsTxtMaxBytes + 12 * r.rule_count() + 1024);
}

TEST(RobotsTxt, DecidingRuleNamesTheRule) {
  const RobotsRules r = RobotsRules::parse(
      "User-agent: *\nDisallow: /private*\nAllow: /private/ok\nDisallow: /*.gif$\n");
  EXPECT_EQ(r.deciding_rule("/private/x"), "Disallow: /private*");
  EXPECT_EQ(r.deciding_rule("/private/ok/1"), "Allow: /private/ok");
  EXPECT_EQ(r.deciding_rule("/a.gif"), "Disallow: /*.gif$");
  EXPECT_EQ(r.deciding_rule("/public"), "") << "no rule matched";
  EXPECT_EQ(r.deciding_rule(""), "");
}

// allowed() takes what robots_path_of gives, and is forgiving of what it does not.
TEST(RobotsTxt, PathsAreCompletedBeforeMatching) {
  const RobotsRules r = RobotsRules::parse("User-agent: *\nDisallow: /$\nDisallow: /?\n");
  EXPECT_FALSE(r.allowed("")) << "'' is '/'";
  EXPECT_FALSE(r.allowed("/"));
  EXPECT_FALSE(r.allowed("?q=1")) << "'?q=1' is '/?q=1'";
  EXPECT_TRUE(r.allowed("/a"));
  EXPECT_FALSE(RobotsRules::parse("User-agent: *\nDisallow: /a\n").allowed("a/b"));
}

// A reference for the matcher: RFC 9309 matching by dynamic programming over every pair of
// pattern and path prefixes, with no cleverness to get wrong; and the longest-match choice.
bool reference_matches(const std::string& path, std::string pattern) {
  const bool anchored = !pattern.empty() && pattern.back() == '$';
  if (anchored) pattern.pop_back();
  std::vector<bool> can(path.size() + 1, false);  // pattern so far can match path[0, j)
  can[0] = true;
  for (char c : pattern) {
    std::vector<bool> next(path.size() + 1, false);
    bool any = false;
    for (size_t j = 0; j <= path.size(); ++j) {
      any = any || can[j];
      next[j] = c == '*' ? any : j > 0 && can[j - 1] && path[j - 1] == c;
    }
    can = next;
  }
  if (anchored) return can[path.size()];
  return std::find(can.begin(), can.end(), true) != can.end();
}

bool reference_allowed(const std::vector<std::pair<bool, std::string>>& rules,
                       const std::string& path) {
  int best = -1;
  bool allow = true;
  for (const auto& [is_allow, pattern] : rules) {
    if (!reference_matches(path, pattern)) continue;
    const int length = static_cast<int>(pattern.size());
    if (length > best || (length == best && is_allow)) best = length, allow = is_allow;
  }
  return allow;
}

TEST(RobotsTxt, MatchingAgreesWithAReferenceOnRandomRules) {
  std::mt19937 rng(9309);
  auto random_string = [&](std::string_view alphabet, size_t max) {
    std::string s(std::uniform_int_distribution<size_t>(1, max)(rng), ' ');
    for (char& c : s)
      c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
    return s;
  };
  int disagreements = 0;
  for (int i = 0; i < 20000 && disagreements < 5; ++i) {
    std::vector<std::pair<bool, std::string>> rules;
    std::string txt = "User-agent: *\n";
    const int n = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int k = 0; k < n; ++k) {
      const bool allow = rng() & 1;
      std::string pattern = (rng() & 3 ? "/" : "") + random_string("ab/*$", 7);
      rules.emplace_back(allow, pattern);
      txt += (allow ? "Allow: " : "Disallow: ") + pattern + "\n";
    }
    const std::string path = "/" + random_string("ab/$", 9).substr(1);
    const bool want = path == "/robots.txt" || reference_allowed(rules, path);
    if (RobotsRules::parse(txt).allowed(path) != want) {
      ++disagreements;
      ADD_FAILURE() << txt << "path " << path << ": expected " << (want ? "allowed" : "disallowed");
    }
  }
}

// The matcher never backtracks: patterns that are exponential for a naive recursive matcher, on
// a long path, take linear time and give the right answer.
TEST(RobotsTxt, HostilePatternsDoNotBacktrack) {
  const std::string as = "/" + std::string(100000, 'a');
  const RobotsRules many_stars =
      RobotsRules::parse("User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n");
  EXPECT_TRUE(many_stars.allowed(as));
  EXPECT_FALSE(many_stars.allowed(as + "b"));
  const RobotsRules anchored = RobotsRules::parse("User-agent: *\nDisallow: /*a*a*a*a*a*a$\n");
  EXPECT_FALSE(anchored.allowed(as));
  EXPECT_TRUE(anchored.allowed(as + "b"));
  const RobotsRules runs = RobotsRules::parse("User-agent: *\nDisallow: /*aaaaaaaaaaaaaaaaab*c\n");
  EXPECT_TRUE(runs.allowed(as + "c")) << "the segment search is linear too";
  EXPECT_FALSE(runs.allowed(as + "bc"));
  const RobotsRules stars =
      RobotsRules::parse("User-agent: *\nDisallow: /" + std::string(2000, '*') + "c\n");
  EXPECT_TRUE(stars.allowed(as));
  EXPECT_FALSE(stars.allowed(as + "c"));
}

// A full 500 KiB file of distinct wildcard rules, each forcing a scan of a long path: matching
// one path stops at the work bound and says "disallowed" instead of scanning for a second.
TEST(RobotsTxt, AHostileFullFileIsMatchedQuickly) {
  std::string txt = "User-agent: *\n";
  for (int i = 0; txt.size() < kRobotsTxtMaxBytes; ++i)
    txt += "Allow: /*a*a*a*a*a*a*a*b" + std::to_string(i) + "\n";
  const RobotsRules r = RobotsRules::parse(txt);
  EXPECT_GT(r.rule_count(), 15000u);
  const std::string path = "/" + std::string(2000, 'a');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(r.allowed(path));
  EXPECT_EQ(r.deciding_rule(path), "(robots.txt too complex to evaluate)");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Not a benchmark (CI machines are loaded, sanitizers are slow): a bound an exponential or
  // quadratic matcher would miss by orders of magnitude.
  EXPECT_LT(seconds, 10.0);
  // A short path is scanned cheaply by every rule: the full answer, not the bound.
  EXPECT_TRUE(r.allowed("/aaaaaaab7"));
  EXPECT_EQ(r.deciding_rule("/aaaaaaab7"), "Allow: /*a*a*a*a*a*a*a*b7");
  EXPECT_EQ(r.deciding_rule("/aaaaaaac"), "");
}

// The same hostile line repeated to the cap is one rule, evaluated exactly.
TEST(RobotsTxt, ARepeatedHostileLineIsOneRule) {
  std::string txt = "User-agent: *\nDisallow: /\n";
  while (txt.size() < kRobotsTxtMaxBytes) txt += "Allow: /*a*a*a*a*a*a*a*a*b\n";
  const RobotsRules r = RobotsRules::parse(txt);
  EXPECT_EQ(r.rule_count(), 2u);
  EXPECT_FALSE(r.allowed("/" + std::string(5000, 'a')));
  EXPECT_TRUE(r.allowed("/" + std::string(5000, 'a') + "b"));
}

TEST(RobotsTxt, HostileBodiesParse) {
  EXPECT_TRUE(allowed(std::string(kRobotsTxtMaxBytes, '\n'), "/"));
  EXPECT_TRUE(allowed(std::string(kRobotsTxtMaxBytes, '\r'), "/"));
  EXPECT_TRUE(allowed(std::string(kRobotsTxtMaxBytes * 2, ':'), "/"));
  EXPECT_TRUE(allowed(std::string(kRobotsTxtMaxBytes, '\0'), "/"));
  std::string uas;
  while (uas.size() < kRobotsTxtMaxBytes) uas += "User-agent: imgpipe\n";
  EXPECT_TRUE(allowed(uas, "/"));
  const std::string one_line = "User-agent: *\nDisallow: /" + std::string(kRobotsTxtMaxBytes, 'x');
  EXPECT_TRUE(allowed(one_line, "/xx")) << "cut mid-line: the line is dropped";
  const RobotsRules stars = RobotsRules::parse("User-agent: *\nDisallow: /" +
                                               std::string(kRobotsTxtMaxBytes - 100, '*') + "z\n");
  EXPECT_FALSE(stars.allowed("/" + std::string(10000, 'y') + "z"));
  EXPECT_TRUE(stars.allowed("/" + std::string(10000, 'y')));
}

TEST(RobotsPathOf, KeepsPathAndQueryAndDropsTheRest) {
  EXPECT_EQ(robots_path_of("http://example.com/a/b.jpg"), "/a/b.jpg");
  EXPECT_EQ(robots_path_of("https://example.com/a/b?c=d&e=f"), "/a/b?c=d&e=f");
  EXPECT_EQ(robots_path_of("http://example.com/a/b?c=d#frag"), "/a/b?c=d");
  EXPECT_EQ(robots_path_of("http://example.com/a#frag?not=query"), "/a");
  EXPECT_EQ(robots_path_of("http://example.com/a/b?c=http://d.e/"), "/a/b?c=http://d.e/");
  EXPECT_EQ(robots_path_of("http://example.com/a;p=1"), "/a;p=1");
}

TEST(RobotsPathOf, AnEmptyPathIsTheRoot) {
  EXPECT_EQ(robots_path_of("http://example.com"), "/");
  EXPECT_EQ(robots_path_of("http://example.com/"), "/");
  EXPECT_EQ(robots_path_of("http://example.com#frag"), "/");
  EXPECT_EQ(robots_path_of("http://example.com?q=1"), "/?q=1");
  EXPECT_EQ(robots_path_of(""), "/");
}

TEST(RobotsPathOf, UserinfoAndPortAreNotThePath) {
  EXPECT_EQ(robots_path_of("http://user:pass@example.com:8080/a?b"), "/a?b");
  EXPECT_EQ(robots_path_of("http://user@example.com:8080"), "/");
  EXPECT_EQ(robots_path_of("http://[::1]:8080/x"), "/x");
  EXPECT_EQ(robots_path_of("HTTPS://EXAMPLE.COM:443/Case/Kept"), "/Case/Kept");
}

// As google/robotstxt's GetPathParamsQuery reads URLs without a scheme.
TEST(RobotsPathOf, URLsWithoutASchemeAreReadAsGooglesLibraryReadsThem) {
  EXPECT_EQ(robots_path_of("//example.com/b/c"), "/b/c");
  EXPECT_EQ(robots_path_of("example.com/a"), "/a");
  EXPECT_EQ(robots_path_of("example.com?a"), "/?a");
  EXPECT_EQ(robots_path_of("/a/b"), "/a/b");
  EXPECT_EQ(robots_path_of("a"), "/");
  EXPECT_EQ(robots_path_of("a/b?u=http://x/y"), "/b?u=http://x/y");
}

TEST(RobotsPathOf, FeedsAllowed) {
  const RobotsRules r = RobotsRules::parse("User-agent: *\nDisallow: /*?session=\n");
  EXPECT_FALSE(r.allowed(robots_path_of("https://u@h.example:81/img.jpg?session=1#top")));
  EXPECT_TRUE(r.allowed(robots_path_of("https://h.example/img.jpg#?session=1")));
}

}  // namespace
}  // namespace imgpipe
