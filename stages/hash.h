// hash: SHA-256 of byte ranges, as lowercase hex (OpenSSL's EVP interface).
//
// A plain function; safe from any number of threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace imgpipe {

// 64 lowercase hex digits; empty only if OpenSSL fails (out of memory).
std::string sha256_hex(const void* data, size_t size);

}  // namespace imgpipe
