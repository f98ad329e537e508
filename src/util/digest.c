/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/digest.h"
#include "util/crypto-dl.h"
#include "util/str.h"

/* ---- digests ---------------------------------------------------------- */

int hull_digest_check(const char *digest, struct hull_error **reterr)
{
	const char *hex;
	size_t n = 0;

	if (!digest)
		return hull_error_set(reterr, -EINVAL, "digest missing");
	hex = startswith(digest, "sha256:");
	if (!hex) {
		const char *colon = strchr(digest, ':');

		if (colon && colon != digest)
			return hull_error_set(reterr, -EINVAL,
					      "digest '%.80s': unsupported algorithm (only sha256)",
					      digest);
		return hull_error_set(reterr, -EINVAL,
				      "digest '%.80s': expected 'sha256:' and 64 hex digits",
				      digest);
	}
	for (; hex[n]; n++)
		if (!((hex[n] >= '0' && hex[n] <= '9') || (hex[n] >= 'a' && hex[n] <= 'f')))
			return hull_error_set(reterr, -EINVAL,
					      "digest '%.80s': expected 64 lowercase hex digits",
					      digest);
	if (n != 64)
		return hull_error_set(reterr, -EINVAL,
				      "digest '%.80s': expected 64 hex digits, got %zu", digest, n);
	return 0;
}

const char *hull_digest_hex(const char *digest)
{
	return digest + strlen("sha256:");
}

void hull_digest_format(const unsigned char md[32], char ret[HULL_DIGEST_MAX])
{
	memcpy(ret, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++)
		snprintf(ret + 7 + 2 * i, 3, "%02x", md[i]);
}

int hull_digest_buffer(const void *buf, size_t len, char ret[HULL_DIGEST_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -EIO;
	hull_digest_format(md, ret);
	return 0;
}
