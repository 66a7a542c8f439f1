// End-to-end tests against a real TLS origin (nginx, HTTP/2, a self-signed certificate):
// --cacert and --insecure, HTTP/2 multiplexing on few connections, TLS sessions resumed across
// transfer handles, and the metrics that show them.
#include <set>

#include "fixtures/e2e_fixture.h"
#include "fixtures/images.h"
#include "fixtures/nginx_origin.h"

namespace imgpipe {
namespace {

class TlsE2eTest : public E2eTest {
 protected:
  // n distinct JPEGs in the origin's www/, listed by URL.
  fs::path list_of_images(const fixtures::NginxOrigin& origin, int n, int side = 40) {
    std::vector<std::string> lines;
    for (int i = 0; i < n; ++i) {
      const std::string name = "/" + std::to_string(i) + ".jpg";
      auto jpeg = ::fixtures::make_jpeg(side + i, side, 3, 100);
      std::ofstream(origin.www() / name.substr(1), std::ios::binary)
          .write(reinterpret_cast<const char*>(jpeg.data()), jpeg.size());
      lines.push_back(origin.url(name));
    }
    return write_list(lines);
  }
  Outcome run_on(const fs::path& list, const std::string& out, std::vector<std::string> flags) {
    flags.insert(flags.end(), {"-i", list.string(), "-o", (dir_ / out).string(), "--metrics-json",
                               (dir_ / (out + ".json")).string()});
    return run(flags);
  }
  json metrics(const std::string& out) { return json::parse(slurp(dir_ / (out + ".json"))); }
};

#define START_ORIGIN(name, ...)                            \
  fixtures::NginxOrigin name(dir_ / #name, ##__VA_ARGS__); \
  ASSERT_TRUE(name.ok()) << "nginx did not start: " << name.error_log()

// 60 images over HTTP/2, verified against the origin's own certificate: every response is h2,
// and they share a handful of connections (curl opens at most one per transfer started before
// the first connection said it multiplexes), which nginx's log confirms.
TEST_F(TlsE2eTest, AnH2OriginVerifiedByCacertMultiplexesOnFewConnections) {
  START_ORIGIN(origin);
  const fs::path list = list_of_images(origin, 60);
  Outcome r = run_on(list, "out", {"--cacert", origin.certificate().string(), "-j", "16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [line, row] : manifest(dir_ / "out")) EXPECT_EQ(row["status"], "ok");
  const json c = metrics("out")["connections"];
  EXPECT_EQ(c["transfers"], 60);
  EXPECT_EQ(c["http_versions"], json({{"2", 60}}));
  EXPECT_EQ(c["tls_verified"], true);
  std::set<std::string> connections;
  for (const auto& q : origin.requests()) {
    EXPECT_EQ(q.protocol, "HTTP/2.0");
    connections.insert(q.connection);
  }
  EXPECT_EQ(origin.requests().size(), 60u);
  EXPECT_EQ(c["opened"], connections.size()) << "the metrics count what nginx saw";
  EXPECT_LE(connections.size(), 16u) << "≪ 60 transfers";
  EXPECT_NE(r.out.find("connections: " + std::to_string(connections.size()) +
                       " opened for 60 transfers (HTTP 2: 60)"),
            std::string::npos)
      << r.out;
}

// Without --cacert the self-signed certificate fails every line, for good (no retry will change
// it); --insecure fetches them, warned about on stderr and in the metrics.
TEST_F(TlsE2eTest, AnUnverifiableCertificateFailsEachLineUnlessInsecure) {
  START_ORIGIN(origin);
  const fs::path list = list_of_images(origin, 3);
  Outcome r = run_on(list, "strict", {});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  for (const auto& [line, row] : manifest(dir_ / "strict")) {
    EXPECT_EQ(row["status"], "network_error");
    EXPECT_NE(row["error"].get<std::string>().find("certificate"), std::string::npos) << row;
    EXPECT_EQ(row["retryable"], false);
    EXPECT_EQ(row["attempts"], 1);
  }
  EXPECT_TRUE(origin.requests().empty()) << "no request reaches an unverified origin";
  EXPECT_EQ(r.err.find("--insecure"), std::string::npos) << r.err;

  r = run_on(list, "insecure", {"--insecure"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(manifest(dir_ / "insecure").size(), 3u);
  EXPECT_NE(r.err.find("warning: --insecure"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("NOT verified (--insecure)"), std::string::npos) << r.out;
  EXPECT_EQ(metrics("insecure")["connections"]["tls_verified"], false);
}

// An HTTP/1.1 origin that closes each connection after one request makes every transfer connect
// anew. Transfers start 100 ms apart (--rate-per-host) and each takes longer than that
// (limit_rate), so several curl handles are in use at once; the TLS session of the first
// connection is resumed by every later one, whichever handle makes it. Without the shared
// session cache each handle's first connection would do a full handshake. (nginx 1.22 does not
// resume a session after an HTTP/2 connection it ended with keepalive_requests, so HTTP/1.1.)
TEST_F(TlsE2eTest, LaterConnectionsResumeTheFirstTlsSession) {
  START_ORIGIN(origin, "keepalive_requests 1; limit_rate 10k;", false);
  const fs::path list = list_of_images(origin, 16, 200);
  Outcome r = run_on(
      list, "out", {"--cacert", origin.certificate().string(), "--rate-per-host", "10", "-j", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto requests = origin.requests();
  ASSERT_EQ(requests.size(), 16u);
  std::set<std::string> connections;
  int full_handshakes = 0;
  for (const auto& q : requests) {
    connections.insert(q.connection);
    full_handshakes += q.session_reused != "r";
  }
  EXPECT_EQ(connections.size(), 16u) << "one request per connection";
  EXPECT_EQ(full_handshakes, 1);
  EXPECT_EQ(metrics("out")["connections"]["opened"], 16);
  EXPECT_EQ(metrics("out")["connections"]["http_versions"], json({{"1.1", 16}}));
}

}  // namespace
}  // namespace imgpipe
