// Manifest rows as JSON Lines.
#include "stages/manifest.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace imgpipe {
namespace {

double round_ms(double ms) { return std::round(ms * 1000) / 1000; }  // µs precision is plenty

}  // namespace

nlohmann::ordered_json manifest_row(const Item& item) {
  nlohmann::ordered_json ms = nlohmann::ordered_json::object();
  for (int s = 0; s < kStageCount; ++s) ms[kStageNames[s]] = round_ms(item.stage_ms[s]);
  const TransferTimings& t = item.timings;
  return {{"line", item.line},
          {"url", item.url},
          {"status", status_name(item.status)},
          {"error", item.error},
          {"http_status", item.http_status},
          {"attempts", item.attempts},
          {"bytes", item.bytes_in},
          {"width", item.source_width},
          {"height", item.source_height},
          {"output", item.output_path},
          {"output_width", item.output_path.empty() ? 0 : item.image.width},
          {"output_height", item.output_path.empty() ? 0 : item.image.height},
          {"output_bytes", item.bytes_out},
          {"ms", ms},
          {"download_ms",
           {{"dns", round_ms(t.dns_ms)},
            {"connect", round_ms(t.connect_ms)},
            {"tls", round_ms(t.tls_ms)},
            {"first_byte", round_ms(t.first_byte_ms)},
            {"body", round_ms(t.body_ms)},
            {"reused_connection", t.reused_connection}}}};
}

std::unique_ptr<Manifest> Manifest::create(const std::string& path, std::string* why) {
  std::FILE* f = std::fopen(path.c_str(), "we");
  if (!f) {
    *why = "cannot create " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<Manifest>(new Manifest(f));
}

Manifest::~Manifest() {
  if (file_) std::fclose(file_);
}

void Manifest::append(const Item& item) {
  // replace: a URL line with invalid UTF-8 must still produce a valid JSON row, not an exception.
  std::string row =
      manifest_row(item).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  row += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  if (!error_.empty()) return;
  if (std::fwrite(row.data(), 1, row.size(), file_) != row.size() || std::fflush(file_) != 0)
    error_ = std::string("manifest write failed: ") + std::strerror(errno);
}

bool Manifest::close(std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_ && std::fclose(file_) != 0 && error_.empty())
    error_ = std::string("manifest close failed: ") + std::strerror(errno);
  file_ = nullptr;
  *why = error_;
  return error_.empty();
}

}  // namespace imgpipe
