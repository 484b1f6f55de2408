/* hash.c: BLAKE2b-256 (libsodium), the identity of models, jobs and bundle members. */
#include "config.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void adcnn_hash_hex(const void *buf, size_t len, char hex[ADCNN_HASH_HEX])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), buf, len, NULL, 0);
	sodium_bin2hex(hex, ADCNN_HASH_HEX, h, sizeof(h));
}

enum adcnn_status adcnn_hash_file(struct adcnn_ctx *ctx, const char *path, char hex[ADCNN_HASH_HEX])
{
	crypto_generichash_state hs;
	unsigned char h[32];
	size_t cap = (size_t)1 << 20;
	uint8_t *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	enum adcnn_status st = ADCNN_OK;

	if (buf == NULL || fd < 0) {
		st = buf == NULL ? adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory")
		                 : adcnn_set_error(ctx, ADCNN_ERR_MISSING, "cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	crypto_generichash_init(&hs, NULL, 0, sizeof(h));
	for (;;) {
		ssize_t r = read(fd, buf, cap);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		crypto_generichash_update(&hs, buf, (unsigned long long)r);
	}
	crypto_generichash_final(&hs, h, sizeof(h));
	sodium_bin2hex(hex, ADCNN_HASH_HEX, h, sizeof(h));
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return st;
}
