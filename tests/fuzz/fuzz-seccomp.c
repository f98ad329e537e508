/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes what hull derives from linux.seccomp and the annotations of an
 * untrusted config.json: the profile compiled to BPF (libseccomp plus hull's
 * ENOSYS stub per architecture) and the listener timeout annotation.  A
 * failure always comes with a message; a timeout is always within its range.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "linux/seccomp.h"
#include "oci/config.h"
#include "util/error.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_oci_config_ struct hull_oci_config *c = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	uint64_t timeout = 0;
	int r;

	if (hull_oci_config_parse((const char *)data, size, &c, NULL) < 0)
		return 0;
	r = hull_seccomp_listener_timeout(c->annotations, &timeout, &err);
	CHECK(r == 0 ? timeout >= 1000 && timeout <= HULL_SECCOMP_TIMEOUT_MAX_USEC
		     : err && err->msg);
	hull_error_free(err);
	err = NULL;
	if (c->linux_config && c->linux_config->seccomp) {
		struct hull_seccomp_program *p = NULL;

		r = hull_seccomp_compile(c->linux_config->seccomp, &p, &err);
		CHECK(r == 0 ? p != NULL : p == NULL && err && err->msg);
		hull_seccomp_program_free(p);
	}
	return 0;
}
