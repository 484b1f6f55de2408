/* hash.c: BLAKE2b-256 (libsodium), the identity of models, jobs and bundle members. */
#include "config.h"
#include "internal.h"
#include <sodium.h>

void adcnn_hash_hex(const void *buf, size_t len, char hex[ADCNN_HASH_HEX])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), buf, len, NULL, 0);
	sodium_bin2hex(hex, ADCNN_HASH_HEX, h, sizeof(h));
}
