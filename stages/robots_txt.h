// robots.txt (RFC 9309): what a host lets imgpipe fetch. The downloader fetches
// http(s)://HOST/robots.txt once per host, turns the outcome into a RobotsRules with
// from_response, and asks allowed() of every URL on that host before fetching it.
//
// What we read, following RFC 9309 and Google's reference parser (github.com/google/robotstxt),
// which most sites are written against:
//   - `key: value` lines; `#` starts a comment; CR, LF or CRLF end lines; a UTF-8 BOM (or a
//     leading part of one) at the start is skipped. Keys are matched without regard to case; a
//     few common misspellings count ("useragent", "user agent", "disalow", "dissallow", ...), and
//     so does a missing colon when the line is exactly two words ("disallow /x").
//   - A group is a run of User-agent lines and the rules after it. A group names us when a
//     User-agent value's product token (its leading run of letters, '-' and '_': "imgpipe/1.0"
//     is "imgpipe") equals ours, case aside. We merge every group that names us; if none does,
//     every `*` group; if there is none, everything is allowed. Rules before the first
//     User-agent line are ignored. Crawl-delay is a member of its group like a rule; lines we do
//     not know (Sitemap, Host, ...) belong to no group and end none.
//   - The longest matching pattern wins, counted in octets as written (after the normalisation
//     below); on a tie Allow wins. `*` matches any run of octets, a final `$` anchors the
//     pattern at the end of the path; an empty Allow or Disallow says nothing.
//   - Patterns and paths are compared after the same normalisation: octets outside visible
//     ASCII (UTF-8, space, controls) are %-encoded and the hex digits of %XX escapes upper-cased,
//     so "/café", "/caf%c3%a9" and "/caf%C3%A9" are one path.
//   - Crawl-delay (not in the RFC, widely used): seconds, from the chosen group(s).
// Not done: Google's "index.html means its directory" rule, and its cut of lines at 16 KiB.
//
// Hostile input: the body is read up to kRobotsTxtMaxBytes and no further, and only the chosen
// groups' rules are kept. Matching is greedy per `*` (no backtracking: linear in path and pattern
// per rule) and tries the rules longest first, stopping at the first match; a file crafted so
// that one path is scanned by tens of thousands of wildcard rules hits a work bound
// (kRobotsMatchWork) and the URL is then treated as disallowed — a site whose rules we cannot
// afford to evaluate gets the polite answer, never a stalled pipeline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stages/robots_tag.h"  // kRobotsAgentToken

namespace imgpipe {

// The most of a robots.txt we read (RFC 9309 §2.5: crawlers must parse at least 500 KiB). The
// fetcher stops there; the parser ignores anything past it (and a line the cut splits).
constexpr size_t kRobotsTxtMaxBytes = 500 * 1024;

// The longest Crawl-delay we honour, in seconds. Larger values are clamped to it: a site asking
// for an hour between requests would hold one host's queue for days; a minute already limits us
// to 1440 fetches a day there, and the politeness layer may decide to skip such a host.
constexpr double kRobotsMaxCrawlDelay = 60.0;

// How many path octets one allowed()/deciding_rule() call may scan for the parts of patterns
// after a `*`, over all rules, before it gives up and treats the path as disallowed. Real files
// stay far below it: a rule whose text before its first `*` does not begin the path scans
// nothing, and 2,000 wildcard rules each scanning all of a 1,000-byte path is 2 M. Measured at
// -O2, the worst 500 KiB files we could build take about 3 ms a path to reach it.
constexpr size_t kRobotsMatchWork = 4u << 20;

// What one host's robots.txt lets us fetch. A value type: cheap to move, safe to share between
// threads for reading (every member function is const after construction).
class RobotsRules {
 public:
  // Everything may be fetched (no robots.txt, or one without rules for us).
  static RobotsRules allow_all();
  // Nothing may be fetched but /robots.txt (server error, or no answer at all).
  static RobotsRules disallow_all();
  // The group(s) for `agent` (its product token: "imgpipe/1.0" is "imgpipe"), or else the `*`
  // group(s), from a robots.txt body. Reads at most kRobotsTxtMaxBytes of it.
  static RobotsRules parse(std::string_view body, std::string_view agent = kRobotsAgentToken);
  // From the robots.txt fetch's outcome (RFC 9309 §2.3.1):
  //   2xx            parse(body)
  //   3xx            allow all: the fetcher follows up to 5 redirects, so a 3xx here means more
  //                  than that, which §2.3.1.2 lets us treat as "unavailable"
  //   4xx but 429    allow all: "unavailable" (§2.3.1.3), 403 and 404 alike
  //   429            disallow all: a rate limit is the server asking us to stay away, not a
  //                  missing file (Google reads 429 as it reads 5xx)
  //   5xx            disallow all: "unreachable" (§2.3.1.4)
  //   anything else  disallow all: 0 (no response: DNS failure, refused, timeout), 1xx (never
  //                  a final status) and codes outside 100-599, which no real server sends
  static RobotsRules from_response(long http_status, std::string_view body,
                                   std::string_view agent = kRobotsAgentToken);

  // Whether a URL with this path (and query, without the fragment: robots_path_of gives it) may
  // be fetched. "" counts as "/", and a path not starting with '/' gets one. "/robots.txt" is
  // always allowed (RFC 9309 §2.2.2).
  bool allowed(std::string_view path_and_query) const;
  // The rule that decides the path, as "Allow: PATTERN" or "Disallow: PATTERN" (the pattern
  // normalised: %-escapes upper-cased, non-ASCII encoded), for messages. "" when no rule matches
  // (allowed), for /robots.txt, and for allow_all() and disallow_all() (which have no rules: the
  // caller knows the status that made them). "(robots.txt too complex to evaluate)" when the
  // work bound was hit.
  std::string deciding_rule(std::string_view path_and_query) const;
  // The chosen group(s)' Crawl-delay in seconds: the first valid one. A value is a decimal
  // number ("10", "0.5", ".5"); anything else (negative, "inf", "nan", "5s", "1e3") is invalid.
  // 0 when absent or invalid; at most kRobotsMaxCrawlDelay.
  double crawl_delay() const { return crawl_delay_; }
  // The bytes this object holds (itself and its heap), so a per-host cache can be bounded.
  // At most about 3 × kRobotsTxtMaxBytes (non-ASCII octets are stored %-encoded) plus 12 bytes
  // a rule.
  size_t memory_bytes() const;

  // The number of rules kept (after dropping duplicates), for tests and logs.
  size_t rule_count() const { return rules_.size(); }

 private:
  struct Rule {
    uint32_t begin;  // into patterns_
    uint32_t size;
    bool allow;
  };
  // What decided a path: a rule, nothing (allowed), or the work bound (disallowed).
  struct Decision {
    const Rule* rule = nullptr;
    bool too_complex = false;
  };
  class Builder;

  Decision decide(const std::string& path) const;
  std::string_view pattern(const Rule& r) const { return {patterns_.data() + r.begin, r.size}; }

  bool disallow_all_ = false;
  double crawl_delay_ = 0;
  std::string patterns_;     // every rule's pattern, back to back
  std::vector<Rule> rules_;  // longest pattern first, Allow before Disallow on a tie
};

// The path-and-query part of an absolute http(s) URL, as robots.txt matching wants it: from the
// first '/', '?' or '#' after the authority (so userinfo and port are skipped), up to the
// fragment. "/" when the path is empty; "/?q" for "http://h?q". A URL without "://" is read as
// Google's library reads it: "//host/p", "host/p" and "/p" all give "/p".
std::string robots_path_of(std::string_view url);

}  // namespace imgpipe
