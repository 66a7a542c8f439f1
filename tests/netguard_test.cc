// Tests for --block-private's address classification.
#include "stages/netguard.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

namespace imgpipe {
namespace {

bool priv(const char* text) {
  IpAddress ip;
  EXPECT_TRUE(parse_ip(text, &ip)) << text;
  return is_private(ip);
}

TEST(Netguard, PrivateAndSpecialAddressesAreBlocked) {
  for (const char* a : {"0.0.0.0",
                        "10.1.2.3",
                        "100.64.0.1",
                        "127.0.0.1",
                        "127.255.255.254",
                        "169.254.169.254",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.0.0.8",
                        "192.0.2.1",
                        "192.168.1.1",
                        "198.18.0.1",
                        "224.0.0.1",
                        "239.255.255.250",
                        "240.0.0.1",
                        "255.255.255.255",
                        "::",
                        "::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.0.0.1",
                        "::127.0.0.1",
                        "64:ff9b::a9fe:a9fe",
                        "2002:7f00:1::",
                        "fc00::1",
                        "fd12:3456::1",
                        "fe80::1",
                        "febf::1",
                        "ff02::1",
                        "2001:db8::1"})
    EXPECT_TRUE(priv(a)) << a;
}

TEST(Netguard, PublicAddressesPass) {
  for (const char* a :
       {"1.1.1.1", "8.8.8.8", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255",
        "100.128.0.1", "192.169.0.1", "223.255.255.255", "2606:4700:4700::1111",
        "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"})
    EXPECT_FALSE(priv(a)) << a;
}

// Every IPv6 form that carries an IPv4 address is judged by that address: IPv4-translated
// (::ffff:0:a.b.c.d), NAT64, 6to4 and Teredo (server in bytes 4-7, client inverted in 12-15);
// local-use NAT64 (64:ff9b:1::/48) is refused whole.
TEST(Netguard, EmbeddedIpv4FormsAreJudgedByTheirIpv4) {
  for (const char* a : {"::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe", "::ffff:0:a00:1",
                        "64:ff9b::7f00:1", "64:ff9b:1::808:808", "64:ff9b:1:a9fe:a9:fe00::",
                        "2002:a9fe:a9fe::1", "2002:a00:1::", "2001:0:4136:e378:8000:63bf:80ff:fffe",
                        "2001:0:a9fe:a9fe::f7f7:f7f7", "2001:0:4136:e378::f5ff:fffe"})
    EXPECT_TRUE(priv(a)) << a;
  for (const char* a : {"::ffff:0:808:808", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"})
    EXPECT_FALSE(priv(a)) << a;
}

TEST(Netguard, ParsesOnlyNumericAddresses) {
  IpAddress ip;
  EXPECT_FALSE(parse_ip("localhost", &ip));
  EXPECT_FALSE(parse_ip("10.0.0", &ip));
  EXPECT_FALSE(parse_ip("", &ip));
  ASSERT_TRUE(parse_ip("::ffff:1.2.3.4", &ip));
  EXPECT_EQ(ip.bytes.size(), 16u);
  EXPECT_EQ(ip_text(ip), "::ffff:1.2.3.4");
}

TEST(Netguard, ReadsSocketAddresses) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(0x7F000001);
  IpAddress ip;
  ASSERT_TRUE(ip_of(reinterpret_cast<sockaddr*>(&v4), &ip));
  EXPECT_EQ(ip_text(ip), "127.0.0.1");
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_addr = in6addr_loopback;
  ASSERT_TRUE(ip_of(reinterpret_cast<sockaddr*>(&v6), &ip));
  EXPECT_EQ(ip_text(ip), "::1");
  sockaddr unix_addr{};
  unix_addr.sa_family = AF_UNIX;
  EXPECT_FALSE(ip_of(&unix_addr, &ip));
}

}  // namespace
}  // namespace imgpipe
