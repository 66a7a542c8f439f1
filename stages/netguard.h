// netguard: --block-private, the network boundary, judged on the address curl is about to
// connect to (after DNS, for every connection, redirects included), so neither a redirect nor a
// DNS answer can lead a transfer into the local network.
//
// Pure functions on values; safe from any thread.
#pragma once
#include <sys/socket.h>

#include <string>
#include <vector>

namespace imgpipe {

// A numeric IP address (v4 or v6) as bytes: 4 or 16 of them.
struct IpAddress {
  std::vector<unsigned char> bytes;
};

// Parses "10.0.0.1" or "::1"; false if `text` is not a numeric address.
bool parse_ip(const std::string& text, IpAddress* out);
// From a socket address (AF_INET / AF_INET6); false for other families.
bool ip_of(const sockaddr* addr, IpAddress* out);
std::string ip_text(const IpAddress& ip);

// True for addresses no public image host has: loopback, private (RFC 1918, ULA), carrier-grade
// NAT, link-local, multicast, unspecified, broadcast, reserved and documentation ranges, and
// IPv6 forms that embed one of those IPv4 addresses (mapped, translated, compatible, NAT64,
// 6to4, Teredo), and all of local-use NAT64 (64:ff9b:1::/48).
bool is_private(const IpAddress& ip);

}  // namespace imgpipe
