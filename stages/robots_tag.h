// X-Robots-Tag: the response header by which a site says what its pages and images may be used
// for. A response whose X-Robots-Tag holds a directive the user has not allowed (by default
// noai, noimageai, noindex, noimageindex, noml: the set img2dataset honours) is not kept: its
// line ends `opted_out`. The header's grammar (Google's, which the others follow):
//   X-Robots-Tag: noindex, nofollow           every agent
//   X-Robots-Tag: imgpipe: noai               only the agent named (ours: kRobotsAgentToken)
//   X-Robots-Tag: otherbot: noindex           not us
// The header may come several times: each value is read on its own (a call each). Names and
// directives are matched without regard to case or surrounding spaces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace imgpipe {

// The product token a site names to address imgpipe (the User-Agent's first word).
constexpr std::string_view kRobotsAgentToken = "imgpipe";

// The first directive in `value` (one X-Robots-Tag header's) that applies to us and is in
// `disallowed` (lower case), or "" if it leaves the response usable.
std::string robots_tag_opt_out(std::string_view value, const std::vector<std::string>& disallowed);

}  // namespace imgpipe
