#include "lrzoo/hash.h"

#include <stdio.h>

#include <openssl/evp.h>

#include "lrzoo/error.h"

int lz_sha256_hex(const void *data, size_t len, char hex[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) return LZ_EINVAL;
  for (unsigned i = 0; i < mdlen; ++i) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  hex[64] = '\0';
  return LZ_OK;
}
