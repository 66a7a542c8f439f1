#include "stages/robots_txt.h"

#include <string.h>  // memmem: two-way search, linear in haystack and needle

#include <algorithm>
#include <initializer_list>

namespace imgpipe {
namespace {

// ASCII only: robots.txt is bytes, and the locale must not change what a line means.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char to_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool equals_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

bool is_one_of(std::string_view key, std::initializer_list<std::string_view> names) {
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return equals_ci(key, n); });
}

// The product token a User-agent value names: "imgpipe/1.0" and "imgpipe (+https://...)" name
// "imgpipe" (RFC 9309 §2.2.1 allows only [A-Za-z_-] in it).
std::string_view product_token(std::string_view v) {
  size_t n = 0;
  while (n < v.size() && ((v[n] >= 'a' && v[n] <= 'z') || (v[n] >= 'A' && v[n] <= 'Z') ||
                          v[n] == '-' || v[n] == '_'))
    ++n;
  return v.substr(0, n);
}

// The form patterns and paths are compared in: octets outside visible ASCII %-encoded, %XX
// escapes with upper-case hex. The same on both sides, so neither how the site wrote its file
// nor how the URL list spelled the URL changes the answer.
std::string normalised(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      out += '%';
      out += to_upper(s[++i]);
      out += to_upper(s[++i]);
    } else if (c <= 0x20 || c >= 0x7F) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// A path as allowed() compares it: never empty, always from '/'.
std::string normalised_path(std::string_view path_and_query) {
  if (path_and_query.empty() || path_and_query.front() != '/')
    return "/" + normalised(path_and_query);
  return normalised(path_and_query);
}

// A Crawl-delay value: "10", "2.5", ".5". Exponents, signs, "inf" and "nan" are not numbers
// here (strtod would take them, and read ',' as the locale says).
bool parse_delay(std::string_view v, double* seconds) {
  double value = 0;
  size_t i = 0;
  bool digits = false;
  // Past the clamp the exact value does not matter; stopping its growth keeps it finite.
  for (; i < v.size() && is_digit(v[i]); ++i, digits = true)
    value = std::min(value * 10 + (v[i] - '0'), 1e9);
  if (i < v.size() && v[i] == '.') {
    double scale = 0.1;
    for (++i; i < v.size() && is_digit(v[i]); ++i, digits = true, scale /= 10)
      value += (v[i] - '0') * scale;
  }
  if (!digits || i != v.size()) return false;
  *seconds = std::min(value, kRobotsMaxCrawlDelay);
  return true;
}

enum class Match { kNo, kYes, kGaveUp };

constexpr size_t kGiveUp = std::string_view::npos - 1;  // find()'s "out of work"

// Where `needle` first occurs in `path` at or after `from`: npos if nowhere, kGiveUp if `work`
// (the octets scanned so far, counted up to each occurrence's end or the path's) is already past
// kRobotsMatchWork.
size_t find(std::string_view path, size_t from, std::string_view needle, size_t* work) {
  if (*work > kRobotsMatchWork) return kGiveUp;
  const void* at = memmem(path.data() + from, path.size() - from, needle.data(), needle.size());
  if (at == nullptr) {
    *work += path.size() - from;
    return std::string_view::npos;
  }
  const auto found = static_cast<size_t>(static_cast<const char*>(at) - path.data());
  *work += found + needle.size() - from;
  return found;
}

// Whether `pattern` matches `path` from its first octet (a prefix of it, or all of it when the
// pattern ends in '$'). Each '*'-separated segment is taken at its leftmost place after the one
// before: with '*' the only wildcard, the leftmost place leaves the most room for the rest, so
// the greedy answer is the right one and no position is ever revisited.
Match match(std::string_view path, std::string_view pattern, size_t* work) {
  const bool anchored = !pattern.empty() && pattern.back() == '$';
  if (anchored) pattern.remove_suffix(1);
  const size_t star = pattern.find('*');
  const std::string_view head = pattern.substr(0, star);
  if (path.substr(0, head.size()) != head) return Match::kNo;
  if (star == std::string_view::npos)
    return !anchored || path.size() == head.size() ? Match::kYes : Match::kNo;
  size_t pos = head.size();
  pattern.remove_prefix(star + 1);
  for (size_t next; (next = pattern.find('*')) != std::string_view::npos;) {
    const std::string_view segment = pattern.substr(0, next);
    // A run of '*' is one '*' (skipped in one go: a file may hold 500 K of them).
    pattern.remove_prefix(std::min(pattern.find_first_not_of('*', next), pattern.size()));
    if (segment.empty()) continue;
    const size_t at = find(path, pos, segment, work);
    if (at == kGiveUp) return Match::kGaveUp;
    if (at == std::string_view::npos) return Match::kNo;
    pos = at + segment.size();
  }
  // What follows the last '*': anywhere after `pos`, or, anchored, at the very end.
  if (anchored) {
    return path.size() - pos >= pattern.size() &&
                   path.substr(path.size() - pattern.size()) == pattern
               ? Match::kYes
               : Match::kNo;
  }
  if (pattern.empty()) return Match::kYes;
  const size_t at = find(path, pos, pattern, work);
  if (at == kGiveUp) return Match::kGaveUp;
  return at == std::string_view::npos ? Match::kNo : Match::kYes;
}

constexpr std::string_view kTooComplex = "(robots.txt too complex to evaluate)";

}  // namespace

// Reads a robots.txt a line at a time, keeping the rules of the groups that name us and, until
// one does, those of the `*` groups.
class RobotsRules::Builder {
 public:
  explicit Builder(std::string_view agent) : agent_(product_token(agent)) {}

  void line(std::string_view s) {
    s = trimmed(s.substr(0, s.find('#')));
    if (s.empty()) return;
    std::string_view key, value;
    if (const size_t colon = s.find(':'); colon != std::string_view::npos) {
      key = trimmed(s.substr(0, colon));
      value = trimmed(s.substr(colon + 1));
    } else {
      // Google's leniency: "disallow /x" means "disallow: /x", when the line is two words.
      const size_t space = std::find_if(s.begin(), s.end(), is_space) - s.begin();
      if (space == s.size()) return;
      key = s.substr(0, space);
      value = trimmed(s.substr(space));
      if (std::any_of(value.begin(), value.end(), is_space)) return;
    }
    if (is_one_of(key, {"user-agent", "useragent", "user agent"})) {
      user_agent(value);
    } else if (is_one_of(key, {"allow"})) {
      rule(value, true);
    } else if (is_one_of(
                   key, {"disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"})) {
      rule(value, false);
    } else if (is_one_of(key, {"crawl-delay", "crawldelay"})) {
      crawl_delay(value);
    }
    // Anything else (Sitemap, Host, Clean-param, garbage) is in no group and ends none.
  }

  RobotsRules finish() && {
    Group& chosen = named_us_ ? ours_ : everyone_;
    RobotsRules r;
    r.crawl_delay_ = std::max(chosen.delay, 0.0);
    // Longest first, Allow first on a tie: then the first rule that matches is the one that
    // decides, and matching can stop there.
    std::vector<Rule>& rules = chosen.rules;
    const std::string& text = chosen.patterns;
    auto view = [&](const Rule& x) { return std::string_view(text).substr(x.begin, x.size); };
    std::sort(rules.begin(), rules.end(), [&](const Rule& a, const Rule& b) {
      if (a.size != b.size) return a.size > b.size;
      if (a.allow != b.allow) return a.allow;
      return view(a) < view(b);
    });
    // A repeated line changes nothing; drop it, so repetition costs neither memory nor time.
    rules.erase(std::unique(rules.begin(), rules.end(),
                            [&](const Rule& a, const Rule& b) {
                              return a.allow == b.allow && view(a) == view(b);
                            }),
                rules.end());
    size_t bytes = 0;
    for (const Rule& x : rules) bytes += x.size;
    r.patterns_.reserve(bytes);
    r.rules_.reserve(rules.size());
    for (const Rule& x : rules) {
      r.rules_.push_back({static_cast<uint32_t>(r.patterns_.size()), x.size, x.allow});
      r.patterns_ += view(x);
    }
    return r;
  }

 private:
  struct Group {
    std::string patterns;
    std::vector<Rule> rules;
    double delay = -1;  // < 0: no valid Crawl-delay yet
  };

  void user_agent(std::string_view value) {
    // A User-agent line after a group's members starts a new group; one right after another
    // User-agent line names one more agent of the same group.
    if (after_members_) for_us_ = for_all_ = after_members_ = false;
    // Google's leniency: "* foo" is still the `*` group.
    if (!value.empty() && value[0] == '*' && (value.size() == 1 || is_space(value[1]))) {
      for_all_ = true;
      return;
    }
    const std::string_view token = product_token(value);
    if (token.empty() || !equals_ci(token, agent_)) return;
    for_us_ = true;
    if (!named_us_) everyone_ = Group();  // the `*` groups no longer matter: free them
    named_us_ = true;
  }

  // The group a member line belongs to, if we keep it: a group that names us, or (while none
  // has) a `*` group.
  Group* target() {
    after_members_ = true;
    if (for_us_) return &ours_;
    if (for_all_ && !named_us_) return &everyone_;
    return nullptr;
  }

  void rule(std::string_view value, bool allow) {
    Group* g = target();
    if (g == nullptr || value.empty()) return;  // an empty Allow or Disallow says nothing
    const std::string pattern = normalised(value);
    g->rules.push_back(
        {static_cast<uint32_t>(g->patterns.size()), static_cast<uint32_t>(pattern.size()), allow});
    g->patterns += pattern;
  }

  void crawl_delay(std::string_view value) {
    Group* g = target();
    double seconds;
    if (g != nullptr && g->delay < 0 && parse_delay(value, &seconds)) g->delay = seconds;
  }

  const std::string_view agent_;
  bool after_members_ = false;  // a rule or Crawl-delay since the last User-agent line
  bool for_us_ = false;         // the current group names us
  bool for_all_ = false;        // the current group is a `*` group
  bool named_us_ = false;       // some group so far names us
  Group ours_, everyone_;
};

RobotsRules RobotsRules::allow_all() { return RobotsRules(); }

RobotsRules RobotsRules::disallow_all() {
  RobotsRules r;
  r.disallow_all_ = true;
  return r;
}

RobotsRules RobotsRules::parse(std::string_view body, std::string_view agent) {
  if (body.size() > kRobotsTxtMaxBytes) {
    // A line the cut splits is not the line the site wrote ("Disallow: /private" cut to
    // "Disallow: /p" would say more than it does): drop it, unless the cut falls on its end.
    const char next = body[kRobotsTxtMaxBytes];
    body = body.substr(0, kRobotsTxtMaxBytes);
    if (next != '\n' && next != '\r') {
      const size_t end = body.find_last_of("\r\n");
      body = body.substr(0, end == std::string_view::npos ? 0 : end);
    }
  }
  // A UTF-8 byte order mark, or the start of one, before the first line (as Google skips it).
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  for (size_t i = 0; i < kBom.size() && !body.empty() && body.front() == kBom[i]; ++i)
    body.remove_prefix(1);

  Builder b(agent);
  for (size_t start = 0;;) {
    size_t end = body.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = body.size();
    b.line(body.substr(start, end - start));
    if (end == body.size()) break;
    start = end + (body[end] == '\r' && end + 1 < body.size() && body[end + 1] == '\n' ? 2 : 1);
  }
  return std::move(b).finish();
}

RobotsRules RobotsRules::from_response(long http_status, std::string_view body,
                                       std::string_view agent) {
  if (http_status >= 200 && http_status < 300) return parse(body, agent);
  if (http_status >= 300 && http_status < 500 && http_status != 429) return allow_all();
  return disallow_all();
}

RobotsRules::Decision RobotsRules::decide(const std::string& path) const {
  Decision d;
  size_t work = 0;
  for (const Rule& r : rules_) {
    switch (match(path, pattern(r), &work)) {
      case Match::kYes:
        d.rule = &r;
        return d;
      case Match::kGaveUp:
        d.too_complex = true;
        return d;
      case Match::kNo:
        break;
    }
  }
  return d;
}

bool RobotsRules::allowed(std::string_view path_and_query) const {
  const std::string path = normalised_path(path_and_query);
  if (path == "/robots.txt") return true;
  if (disallow_all_) return false;
  const Decision d = decide(path);
  return !d.too_complex && (d.rule == nullptr || d.rule->allow);
}

std::string RobotsRules::deciding_rule(std::string_view path_and_query) const {
  const std::string path = normalised_path(path_and_query);
  if (path == "/robots.txt") return "";
  const Decision d = decide(path);
  if (d.too_complex) return std::string(kTooComplex);
  if (d.rule == nullptr) return "";
  return (d.rule->allow ? "Allow: " : "Disallow: ") + std::string(pattern(*d.rule));
}

size_t RobotsRules::memory_bytes() const {
  return sizeof(*this) + patterns_.capacity() + rules_.capacity() * sizeof(Rule);
}

std::string robots_path_of(std::string_view url) {
  // The authority starts after "scheme://" (when "://" comes before any path), after a leading
  // "//", or at the start; it ends at the first '/', '?' or '#'. Userinfo and port are in it.
  size_t start = 0;
  const size_t scheme = url.find("://");
  if (url.substr(0, 2) == "//") {
    start = 2;
  } else if (scheme != std::string_view::npos && scheme < url.find_first_of("/?#")) {
    start = scheme + 3;
  }
  const size_t path = url.find_first_of("/?#", start);
  if (path == std::string_view::npos) return "/";
  const std::string_view p = url.substr(path, url.find('#', path) - path);
  if (p.empty()) return "/";
  if (p.front() != '/') return "/" + std::string(p);
  return std::string(p);
}

}  // namespace imgpipe
