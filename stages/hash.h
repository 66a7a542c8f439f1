// hash: the sha256 of an item's downloaded bytes (the manifest's `sha256`, --name hash, --dedup),
// and SHA-256 of any byte range, as lowercase hex (OpenSSL's EVP interface).
//
// Plain functions; safe from any number of threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/item.h"

namespace imgpipe {

// 64 lowercase hex digits; empty only if OpenSSL fails (out of memory).
std::string sha256_hex(const void* data, size_t size);

// SHA-256 of a stream of bytes given piece by piece (a list's checksum in `imgpipe plan`).
// Ownership: owns its OpenSSL context. Thread-safety: none; one thread feeds it.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  // 64 lowercase hex digits of everything given; call once, at the end.
  std::string hex();

 private:
  void* ctx_;  // EVP_MD_CTX, kept out of this header
};

// The hash stage: item.sha256 = the sha256 of item.body.
void hash(Item& item);

}  // namespace imgpipe
