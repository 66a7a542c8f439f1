// Address classification for --block-private.
#include "stages/netguard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace imgpipe {
namespace {

// `bits` leading bits of a equal those of prefix.
bool in_prefix(const unsigned char* a, const unsigned char* prefix, int bits) {
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    unsigned mask = bits >= 8 ? 0xFF : (0xFF << (8 - bits)) & 0xFF;
    if ((a[i] & mask) != (prefix[i] & mask)) return false;
  }
  return true;
}

struct Range {
  unsigned char prefix[16];
  int bits;
};

bool private_v4(const unsigned char* a) {
  static const Range kRanges[] = {
      {{0}, 8},              // "this network", incl. 0.0.0.0
      {{10}, 8},             // RFC 1918
      {{100, 64}, 10},       // carrier-grade NAT
      {{127}, 8},            // loopback
      {{169, 254}, 16},      // link-local (cloud metadata services live here)
      {{172, 16}, 12},       // RFC 1918
      {{192, 0, 0}, 24},     // IETF protocol assignments
      {{192, 0, 2}, 24},     // documentation
      {{192, 88, 99}, 24},   // 6to4 relay anycast
      {{192, 168}, 16},      // RFC 1918
      {{198, 18}, 15},       // benchmarking
      {{198, 51, 100}, 24},  // documentation
      {{203, 0, 113}, 24},   // documentation
      {{224}, 4},            // multicast
      {{240}, 4},            // reserved, incl. 255.255.255.255
  };
  for (const Range& r : kRanges)
    if (in_prefix(a, r.prefix, r.bits)) return true;
  return false;
}

// Teredo (2001::/32, RFC 4380): the server's IPv4 address in bytes 4-7, the client's stored
// inverted in bytes 12-15; either one private makes the address a way into a private network.
bool private_teredo(const unsigned char* a) {
  unsigned char client[4];
  for (int i = 0; i < 4; ++i) client[i] = static_cast<unsigned char>(~a[12 + i]);
  return private_v4(a + 4) || private_v4(client);
}

bool private_v6(const unsigned char* a) {
  static const unsigned char kZero[16] = {};
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  static const unsigned char kTranslated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};  // RFC 2765
  static const unsigned char kNat64[12] = {0, 0x64, 0xFF, 0x9B};
  static const unsigned char kLocalNat64[6] = {0, 0x64, 0xFF, 0x9B, 0, 1};  // RFC 8215
  static const unsigned char k6to4[2] = {0x20, 0x02};
  static const unsigned char kTeredo[4] = {0x20, 0x01, 0, 0};
  // IPv4 inside IPv6: judge the IPv4 address (::ffff:127.0.0.1 is loopback all the same).
  if (in_prefix(a, kMapped, 96) || in_prefix(a, kTranslated, 96) || in_prefix(a, kNat64, 96))
    return private_v4(a + 12);
  // Local-use NAT64 reaches whatever IPv4 network the local translator serves, and where the
  // IPv4 address sits depends on a prefix length only that network knows: refuse all of it.
  if (in_prefix(a, kLocalNat64, 48)) return true;
  if (in_prefix(a, kZero, 96)) return true;  // ::, ::1 and the deprecated IPv4-compatible form
  if (in_prefix(a, k6to4, 16)) return private_v4(a + 2);
  if (in_prefix(a, kTeredo, 32)) return private_teredo(a);
  static const Range kRanges[] = {
      {{0xFC}, 7},                     // unique local
      {{0xFE, 0x80}, 10},              // link-local
      {{0xFE, 0xC0}, 10},              // site-local (deprecated)
      {{0xFF}, 8},                     // multicast
      {{0x20, 0x01, 0x0D, 0xB8}, 32},  // documentation
      {{0x01, 0x00}, 64},              // discard-only
  };
  for (const Range& r : kRanges)
    if (in_prefix(a, r.prefix, r.bits)) return true;
  return false;
}

}  // namespace

bool parse_ip(const std::string& text, IpAddress* out) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    out->bytes.assign(buf, buf + 4);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    out->bytes.assign(buf, buf + 16);
    return true;
  }
  return false;
}

bool ip_of(const sockaddr* addr, IpAddress* out) {
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    const auto* b = reinterpret_cast<const unsigned char*>(&in->sin_addr);
    out->bytes.assign(b, b + 4);
    return true;
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    const auto* b = reinterpret_cast<const unsigned char*>(&in6->sin6_addr);
    out->bytes.assign(b, b + 16);
    return true;
  }
  return false;
}

std::string ip_text(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip.bytes.size() == 4 ? AF_INET : AF_INET6, ip.bytes.data(), buf, sizeof buf);
  return buf;
}

bool is_private(const IpAddress& ip) {
  if (ip.bytes.size() == 4) return private_v4(ip.bytes.data());
  if (ip.bytes.size() == 16) return private_v6(ip.bytes.data());
  return true;  // not an IP address we know: refuse rather than guess
}

}  // namespace imgpipe
