// SHA-256 through OpenSSL's one-shot EVP_Digest, and the hash stage.
#include "stages/hash.h"

#include <openssl/evp.h>

namespace imgpipe {

std::string sha256_hex(const void* data, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_Digest(data, size, digest, &n, EVP_sha256(), nullptr)) return {};
  static const char kHex[] = "0123456789abcdef";
  std::string hex(2 * n, '0');
  for (unsigned int i = 0; i < n; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  return hex;
}

void hash(Item& item) { item.sha256 = sha256_hex(item.body.data(), item.body.size()); }

}  // namespace imgpipe
