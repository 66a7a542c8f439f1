#include "stages/robots_tag.h"

#include <algorithm>
#include <cctype>

namespace imgpipe {
namespace {

std::string trimmed_lower(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A value's agent, if it names one: "imgpipe: noai" names imgpipe. Directives that carry a
// value of their own ("max-image-preview: none", "unavailable_after: 25 Jun 2030") name no agent:
// what precedes their colon is the directive, so such a value applies to every agent.
bool names_an_agent(const std::string& before_colon) {
  static const char* const kWithValue[] = {"max-image-preview", "max-snippet", "max-video-preview",
                                           "unavailable_after"};
  return std::none_of(std::begin(kWithValue), std::end(kWithValue),
                      [&](const char* d) { return before_colon == d; });
}

}  // namespace

std::string robots_tag_opt_out(std::string_view value, const std::vector<std::string>& disallowed) {
  const size_t colon = value.find(':');
  if (colon != std::string_view::npos) {
    const std::string agent = trimmed_lower(value.substr(0, colon));
    if (names_an_agent(agent)) {
      if (agent != kRobotsAgentToken) return "";  // addressed to another agent
      value.remove_prefix(colon + 1);
    }
  }
  for (size_t start = 0; start <= value.size();) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    const std::string d = trimmed_lower(value.substr(start, comma - start));
    if (!d.empty() && std::find(disallowed.begin(), disallowed.end(), d) != disallowed.end())
      return d;
    start = comma + 1;
  }
  return "";
}

}  // namespace imgpipe
