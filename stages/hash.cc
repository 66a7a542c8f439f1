// SHA-256 through OpenSSL's one-shot EVP_Digest, and the hash stage.
#include "stages/hash.h"

#include <openssl/evp.h>

namespace imgpipe {

namespace {

std::string digest_hex(const unsigned char* digest, unsigned int n) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex(2 * n, '0');
  for (unsigned int i = 0; i < n; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  return hex;
}

}  // namespace

std::string sha256_hex(const void* data, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_Digest(data, size, digest, &n, EVP_sha256(), nullptr)) return {};
  return digest_hex(digest, n);
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_) EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(const void* data, size_t size) {
  if (ctx_) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size);
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!ctx_ || !EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest, &n)) return {};
  return digest_hex(digest, n);
}

void hash(Item& item) { item.sha256 = sha256_hex(item.body.data(), item.body.size()); }

}  // namespace imgpipe
