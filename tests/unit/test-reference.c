/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/reference.h"
#include "util/str.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Parses s and checks its normalised string form. */
static void parses_as(const char *s, const char *domain, const char *path, const char *tag,
		      const char *digest, const char *full)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *r = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *str = NULL;

	if (hull_image_ref_parse(s, &r, &err) < 0)
		fail_msg("'%s': %s", s, err ? err->msg : "?");
	assert_true(streq_ptr(r->domain, domain));
	assert_string_equal(r->path, path);
	assert_true(streq_ptr(r->tag, tag));
	assert_true(streq_ptr(r->digest, digest));
	str = hull_image_ref_string(r);
	assert_string_equal(str, full);
}

static void test_parse_good(void **state)
{
	parses_as("busybox", NULL, "busybox", "latest", NULL, "busybox:latest");
	parses_as("busybox:1.36", NULL, "busybox", "1.36", NULL, "busybox:1.36");
	parses_as("docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
		  "docker.io/library/busybox:latest");
	parses_as("index.docker.io/busybox:x", "docker.io", "library/busybox", "x", NULL,
		  "docker.io/library/busybox:x");
	parses_as("docker.io/user/app", "docker.io", "user/app", "latest", NULL,
		  "docker.io/user/app:latest");
	parses_as("quay.io/podman/stable:v4", "quay.io", "podman/stable", "v4", NULL,
		  "quay.io/podman/stable:v4");
	parses_as("127.0.0.1:5000/busybox", "127.0.0.1:5000", "busybox", "latest", NULL,
		  "127.0.0.1:5000/busybox:latest");
	parses_as("localhost/app:1", "localhost", "app", "1", NULL, "localhost/app:1");
	parses_as("localhost:5000/a/b/c", "localhost:5000", "a/b/c", "latest", NULL,
		  "localhost:5000/a/b/c:latest");
	parses_as("[::1]:5000/busybox", "[::1]:5000", "busybox", "latest", NULL,
		  "[::1]:5000/busybox:latest");
	parses_as("reg.example.com/a@" DIGEST, "reg.example.com", "a", NULL, DIGEST,
		  "reg.example.com/a@" DIGEST);
	parses_as("reg.example.com/a:v1@" DIGEST, "reg.example.com", "a", "v1", DIGEST,
		  "reg.example.com/a:v1@" DIGEST);
	parses_as("my-org/my_app.x__y--z", NULL, "my-org/my_app.x__y--z", "latest", NULL,
		  "my-org/my_app.x__y--z:latest");
	/* "Registry/app": an upper-case first component is a registry host (distribution) */
	parses_as("Registry/app", "Registry", "app", "latest", NULL, "Registry/app:latest");
}

/* A bad reference is one line naming it and the reason. */
static void refused(const char *s, const char *why)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *r = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *want = NULL;

	assert_int_equal(hull_image_ref_parse(s, &r, &err), -EINVAL);
	assert_null(r);
	assert_non_null(err);
	want = hull_strdup_printf("reference '%s': %s", s, why);
	if (!streq(err->msg, want))
		fail_msg("'%s': got '%s', want '%s'", s, err->msg, want);
	assert_null(strchr(err->msg, '\n'));
}

static void test_parse_bad(void **state)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *r = NULL;
	_cleanup_error_ struct hull_error *err = NULL;

	assert_int_equal(hull_image_ref_parse("", &r, &err), -EINVAL);
	assert_string_equal(err->msg, "reference '': empty image reference");

	refused("BusyBox", "repository name must be lowercase");
	refused("docker.io/Library/busybox", "repository name must be lowercase");
	refused("busybox:", "empty tag");
	refused("busybox:-x", "tag must start with a letter, digit or '_'");
	refused("busybox:a+b", "tag holds a character other than letters, digits, '_', '.', '-'");
	refused("busybox@sha256:abc", "digest must be 'sha256:' followed by 64 hex characters");
	refused("busybox@md5:0123", "unsupported digest algorithm (only sha256)");
	refused("busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"digest must be 'sha256:' followed by 64 lowercase hex characters");
	refused("busybox@" DIGEST "@" DIGEST, "more than one '@'");
	refused("a//b", "empty path component");
	refused("/busybox", "empty path component");
	refused("busybox/", "empty path component");
	refused("-app", "path components start and end with a lowercase letter or digit");
	refused("app-", "path components start and end with a lowercase letter or digit");
	refused("a...b", "path components start and end with a lowercase letter or digit");
	refused("a___b", "path components start and end with a lowercase letter or digit");
	refused("a b", "contains a space or a non-ASCII character");
	refused("host:5000/", "empty path component");
	refused("reg-.io/a", "invalid registry host name");
	refused("reg.io:99999999/a", "invalid registry port");
	refused("reg.io:/a", "invalid registry port");
	refused(":tag", "empty repository name");
	refused("app:1@sha256:x", "digest must be 'sha256:' followed by 64 hex characters");

	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	refused(longname, "repository name longer than 255 characters");
	char longtag[200] = "a:";
	memset(longtag + 2, 't', 130);
	longtag[132] = '\0';
	refused(longtag, "tag longer than 128 characters");
}

static struct hull_registries_conf *conf(const char *text)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_registries_conf *c = hull_registries_conf_new();

	assert_non_null(c);
	if (hull_registries_conf_parse(c, text, "test.conf", &err) < 0)
		fail_msg("parse: %s", err ? err->msg : "?");
	return c;
}

static void conf_refused(const char *text, const char *msg)
{
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *c =
		hull_registries_conf_new();
	_cleanup_error_ struct hull_error *err = NULL;

	assert_int_equal(hull_registries_conf_parse(c, text, "test.conf", &err), -EINVAL);
	if (!streq(err->msg, msg))
		fail_msg("got '%s', want '%s'", err->msg, msg);
}

/* The candidates for `s`, joined by spaces, or the error message. */
static char *resolve(const struct hull_registries_conf *c, const char *s)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *r = NULL;
	_cleanup_(hull_image_ref_list_freep) struct hull_image_ref **l = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_strv_free_ char **out = NULL;

	assert_int_equal(hull_image_ref_parse(s, &r, NULL), 0);
	if (hull_image_ref_resolve(c, r, &l, &err) < 0)
		return strdup(err->msg);
	for (size_t i = 0; l[i]; i++)
		assert_int_equal(hull_strv_consume(&out, hull_image_ref_string(l[i])), 0);
	return hull_strv_join(out, " ");
}

static void check_resolve(const struct hull_registries_conf *c, const char *s, const char *want)
{
	_cleanup_free_ char *got = resolve(c, s);

	if (!streq(got, want))
		fail_msg("'%s': got '%s', want '%s'", s, got, want);
}

static void test_conf_v2(void **state)
{
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *c =
		conf("# comment\n"
		     "unqualified-search-registries = [\"docker.io\",\n"
		     "   'quay.io', # trailing comment\n"
		     "]\n"
		     "short-name-mode=\"permissive\"\n"
		     "\n"
		     "[[registry]]\n"
		     "prefix = \"example.com/foo\"\n"
		     "location = \"internal.example.net:5000/bar\"\n"
		     "insecure = true\n"
		     "[[registry.mirror]]\n"
		     "location = \"mirror.example.com\"\n"
		     "insecure = false\n"
		     "[[registry]]\n"
		     "location = \"bad.example.com\"\n"
		     "blocked = true\n"
		     "[[registry]]\n"
		     "prefix = \"*.corp.example\"\n"
		     "insecure = true\n"
		     "[aliases]\n"
		     "  \"alpine\" = \"docker.io/library/alpine\"\n"
		     "  \"mine\" = \"127.0.0.1:5000/team/mine\"\n"
		     "[engine]\n"
		     "whatever = 3\n");
	struct hull_registry_endpoint e = {};
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_image_ref *r = NULL;

	assert_int_equal(hull_strv_length(c->search), 2);
	assert_int_equal(c->mode, HULL_SHORT_NAME_PERMISSIVE);
	assert_int_equal(c->n_entries, 3);
	assert_string_equal(c->entries[1].prefix, "bad.example.com");

	check_resolve(c, "busybox", "docker.io/library/busybox:latest quay.io/busybox:latest");
	check_resolve(c, "team/app:2", "docker.io/team/app:2 quay.io/team/app:2");
	check_resolve(c, "alpine:3", "docker.io/library/alpine:3");
	check_resolve(c, "mine@" DIGEST, "127.0.0.1:5000/team/mine@" DIGEST);
	check_resolve(c, "reg.io/x", "reg.io/x:latest");

	/* location rewrite at a path boundary, insecure from the entry */
	assert_int_equal(hull_image_ref_parse("example.com/foo/app:1", &r, NULL), 0);
	assert_int_equal(hull_registries_conf_endpoint(c, r, &e, &err), 0);
	assert_string_equal(e.host, "internal.example.net:5000");
	assert_string_equal(e.path, "bar/app");
	assert_true(e.insecure);
	hull_registry_endpoint_done(&e);
	hull_image_ref_free(r);

	assert_int_equal(hull_image_ref_parse("example.com/foobar", &r, NULL), 0);
	assert_int_equal(hull_registries_conf_endpoint(c, r, &e, &err), 0);
	assert_string_equal(e.host, "example.com");
	assert_string_equal(e.path, "foobar");
	assert_false(e.insecure);
	hull_registry_endpoint_done(&e);
	hull_image_ref_free(r);

	assert_int_equal(hull_image_ref_parse("a.corp.example:443/x", &r, NULL), 0);
	assert_int_equal(hull_registries_conf_endpoint(c, r, &e, &err), 0);
	assert_true(e.insecure);
	hull_registry_endpoint_done(&e);
	hull_image_ref_free(r);

	assert_int_equal(hull_image_ref_parse("a.corp.example/x", &r, NULL), 0);
	assert_int_equal(hull_registries_conf_endpoint(c, r, &e, &err), 0);
	assert_string_equal(e.host, "a.corp.example");
	assert_true(e.insecure);
	hull_registry_endpoint_done(&e);
	hull_image_ref_free(r);

	assert_int_equal(hull_image_ref_parse("bad.example.com/x", &r, NULL), 0);
	assert_int_equal(hull_registries_conf_endpoint(c, r, &e, &err), -EACCES);
	assert_string_equal(err->msg, "registry 'bad.example.com' is blocked in the registries "
				      "configuration");
	hull_image_ref_free(r);
}

static void test_conf_short_names(void **state)
{
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *none = conf("");
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *one =
		conf("unqualified-search-registries = [\"127.0.0.1:5000\"]\n");
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *two =
		conf("unqualified-search-registries = [\"docker.io\", \"quay.io\"]\n");
	_cleanup_error_ struct hull_error *err = NULL;

	check_resolve(none, "busybox",
		      "short name 'busybox': no registry to search (unqualified-search-registries "
		      "is empty in test.conf); use a fully qualified name such as "
		      "'docker.io/library/busybox'");
	check_resolve(one, "busybox", "127.0.0.1:5000/busybox:latest");
	/* enforcing (the default) and ambiguous: refused, never guessed */
	check_resolve(two, "busybox",
		      "short name 'busybox' is ambiguous: it could come from any of docker.io, "
		      "quay.io (short-name-mode is \"enforcing\"); use a fully qualified name");
	check_resolve(two, "quay.io/x", "quay.io/x:latest");

	/* a later drop-in replaces the search list and a same-prefix [[registry]] */
	assert_int_equal(hull_registries_conf_parse(two,
						    "[[registry]]\nlocation=\"r.io\"\n"
						    "[[registry]]\nlocation=\"s.io\"\n",
						    "a.conf", &err),
			 0);
	assert_int_equal(
		hull_registries_conf_parse(two,
					   "unqualified-search-registries=['r.io']\n"
					   "[[registry]]\nlocation=\"r.io\"\ninsecure=true\n",
					   "b.conf", &err),
		0);
	assert_int_equal(two->n_entries, 2);
	for (size_t i = 0; i < two->n_entries; i++)
		if (streq(two->entries[i].prefix, "r.io"))
			assert_true(two->entries[i].insecure);
	check_resolve(two, "busybox", "r.io/busybox:latest");
}

static void test_conf_v1(void **state)
{
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *c =
		conf("[registries.search]\nregistries = ['docker.io']\n"
		     "[registries.insecure]\nregistries = ['127.0.0.1:5000']\n"
		     "[registries.block]\nregistries = ['evil.io']\n");
	struct hull_image_ref *r = NULL;
	struct hull_registry_endpoint e = {};

	check_resolve(c, "busybox", "docker.io/library/busybox:latest");
	assert_int_equal(hull_image_ref_parse("127.0.0.1:5000/a", &r, NULL), 0);
	assert_int_equal(hull_registries_conf_endpoint(c, r, &e, NULL), 0);
	assert_true(e.insecure);
	hull_registry_endpoint_done(&e);
	hull_image_ref_free(r);
	assert_int_equal(hull_image_ref_parse("evil.io/a", &r, NULL), 0);
	assert_int_equal(hull_registries_conf_endpoint(c, r, &e, NULL), -EACCES);
	hull_image_ref_free(r);
}

static void test_conf_bad(void **state)
{
	conf_refused("unqualified-search-registries = \"docker.io\"\n",
		     "test.conf:1: unqualified-search-registries: expected an array of strings");
	conf_refused("\n\nunqualified-search-registries = [\"a\" \"b\"]\n",
		     "test.conf:3: expected ',' or ']' in an array");
	conf_refused("[[registry]]\ninsecure = \"yes\"\n",
		     "test.conf:2: insecure: expected true or false");
	conf_refused("[[registry]]\ninsecure = true\n",
		     "test.conf:1: [[registry]] needs a prefix or a location");
	conf_refused("[[registry]\n", "test.conf:1: expected ']]' closing the table name");
	conf_refused("key \"v\"\n", "test.conf:1: expected '=' after the key");
	conf_refused("a = \"unterminated\n", "test.conf:1: unterminated string");
	conf_refused("short-name-mode = \"sloppy\"\n",
		     "test.conf:1: short-name-mode: expected \"enforcing\", \"permissive\" or "
		     "\"disabled\"");
	conf_refused("a = 'x' b = 'y'\n", "test.conf:1: expected the end of the line");
}

static void test_alias_bad(void **state)
{
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *c =
		conf("[aliases]\nfoo = \"Bad Name\"\nbar = \"short\"\n");

	check_resolve(c, "foo",
		      "alias 'foo': reference 'Bad Name': contains a space or a "
		      "non-ASCII character");
	check_resolve(c, "bar",
		      "alias 'bar': 'short' must be a fully qualified name without tag "
		      "or digest");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good), cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_conf_v2),	   cmocka_unit_test(test_conf_short_names),
		cmocka_unit_test(test_conf_v1),	   cmocka_unit_test(test_conf_bad),
		cmocka_unit_test(test_alias_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
