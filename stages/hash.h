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

// The hash stage: item.sha256 = the sha256 of item.body.
void hash(Item& item);

}  // namespace imgpipe
