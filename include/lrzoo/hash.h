/* SHA-256 of a byte string, as 64 lower-case hex digits (job_sha256 in the output file). */
#ifndef LRZOO_HASH_H
#define LRZOO_HASH_H

#include <stddef.h>

/* Writes the digest of data[0..len) into hex (65 bytes with the NUL). Returns LZ_OK or an error. */
int lz_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
