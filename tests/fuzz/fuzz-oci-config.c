/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the OCI config parsers: config.json, and the same bytes as an
 * `exec --process` object and an `update --resources` object.  Besides the
 * sanitizers, it checks what the parser promises its consumers: a failure
 * always comes with a message, and an accepted config holds only valid values.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "oci/config.h"
#include "util/error.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static void check_process(const struct hull_oci_process *p)
{
	CHECK(p->args && p->args[0]);
	CHECK(p->cwd && p->cwd[0] == '/');
	for (size_t i = 0; i < p->n_rlimits; i++) {
		CHECK(hull_rlimit_name(p->rlimits[i].resource));
		CHECK(p->rlimits[i].soft <= p->rlimits[i].hard);
	}
	CHECK(p->caps.bounding >> (hull_cap_last() + 1) == 0);
	CHECK(!p->oom_score_adj.set || (p->oom_score_adj.v >= -1000 && p->oom_score_adj.v <= 1000));
}

static void check_resources(const struct hull_oci_resources *r)
{
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct hull_oci_device_rule *d = &r->devices[i];

		CHECK(d->type == 'a' || d->type == 'c' || d->type == 'b');
		CHECK(d->access[0] && strlen(d->access) <= 3);
		CHECK(strspn(d->access, "rwm") == strlen(d->access));
		CHECK(d->major >= -1 && d->minor >= -1);
	}
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		CHECK(r->hugepage_limits[i].page_size);
}

static void check_config(const struct hull_oci_config *c)
{
	const struct hull_oci_linux *l = c->linux_config;

	CHECK(c->oci_version && c->root.path && c->root.path[0]);
	for (size_t i = 0; i < c->n_mounts; i++)
		CHECK(c->mounts[i].destination[0] == '/');
	for (int k = 0; k < _HULL_HOOK_MAX; k++)
		for (size_t i = 0; i < c->hooks.n_hooks[k]; i++)
			CHECK(c->hooks.hooks[k][i].path[0] == '/');
	if (c->process)
		check_process(c->process);
	(void)hull_oci_config_annotation(c, "run.hull.isolation");
	for (int t = 0; t < _HULL_NS_MAX; t++)
		(void)hull_oci_config_namespace(c, t);
	if (!l)
		return;
	for (size_t i = 0; i < l->n_namespaces; i++) {
		CHECK((unsigned)l->namespaces[i].type < _HULL_NS_MAX);
		CHECK(!l->namespaces[i].path || l->namespaces[i].path[0] == '/');
	}
	for (size_t i = 0; i < l->n_uid_mappings; i++)
		CHECK(l->uid_mappings[i].size > 0);
	for (size_t i = 0; i < l->n_devices; i++)
		CHECK(l->devices[i].major >= 0 && l->devices[i].minor >= 0);
	if (l->resources)
		check_resources(l->resources);
	if (l->seccomp)
		for (size_t i = 0; i < l->seccomp->n_syscalls; i++) {
			CHECK(l->seccomp->syscalls[i].names[0]);
			for (size_t j = 0; j < l->seccomp->syscalls[i].n_args; j++)
				CHECK(l->seccomp->syscalls[i].args[j].index < 6);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct hull_oci_config *c = NULL;
	struct hull_oci_process *p = NULL;
	struct hull_oci_resources *r = NULL;
	struct hull_error *err = NULL;

	if (hull_oci_config_parse(text, size, &c, &err) >= 0) {
		CHECK(c && !err);
		check_config(c);
		hull_oci_config_free(c);
	} else {
		CHECK(!c && err && err->msg && err->msg[0]);
	}
	hull_error_free(err);
	err = NULL;

	if (hull_oci_process_parse(text, size, &p, &err) >= 0) {
		check_process(p);
		hull_oci_process_free(p);
	} else {
		CHECK(!p && err && err->msg);
	}
	hull_error_free(err);
	err = NULL;

	if (hull_oci_resources_parse(text, size, &r, &err) >= 0) {
		check_resources(r);
		hull_oci_resources_free(r);
	} else {
		CHECK(!r && err && err->msg);
	}
	hull_error_free(err);
	return 0;
}
