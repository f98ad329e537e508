/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "oci/image-spec.h"
#include "util/str.h"

#define HA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CFG "{\"mediaType\":\"" HULL_OCI_MEDIA_CONFIG "\",\"digest\":\"" HA "\",\"size\":3}"
#define LAYER(mt, d) "{\"mediaType\":\"" mt "\",\"digest\":\"" d "\",\"size\":42}"

static char *manifest_error(const char *text, const char *ct)
{
	struct hull_oci_manifest *m = NULL;
	struct hull_error *err = NULL;
	char *msg;

	assert_true(hull_oci_manifest_parse(text, strlen(text), ct, &m, &err) == -EINVAL ||
		    err->code == -EOPNOTSUPP);
	assert_null(m);
	msg = strdup(err->msg);
	hull_error_free(err);
	return msg;
}

static void test_manifest_ok(void **state)
{
	const char *t =
		"{\"schemaVersion\":2,\"config\":" CFG
		",\"layers\":[" LAYER(HULL_OCI_MEDIA_LAYER_GZIP, HB) "," LAYER(
			HULL_OCI_MEDIA_LAYER_ZSTD, HA) "," LAYER(HULL_OCI_MEDIA_LAYER, HB) "]}";
	struct hull_oci_manifest *m = NULL;
	enum hull_oci_compression c;

	assert_int_equal(hull_oci_manifest_parse(t, strlen(t), NULL, &m, NULL), 0);
	assert_string_equal(m->media_type, HULL_OCI_MEDIA_MANIFEST);
	assert_false(m->docker);
	assert_int_equal(m->n_layers, 3);
	assert_string_equal(m->config.digest, HA);
	assert_int_equal(m->layers[0].size, 42);
	assert_int_equal(hull_oci_layer_compression(m->layers[1].media_type, &c), 0);
	assert_int_equal(c, HULL_OCI_COMPRESSION_ZSTD);
	hull_oci_manifest_free(m);
}

static void test_manifest_errors(void **state)
{
	char *msg;

	msg = manifest_error(
		"{\"schemaVersion\":2,\"config\":" CFG
		",\"layers\":[" LAYER(HULL_OCI_MEDIA_LAYER, HA) "," LAYER(
			HULL_OCI_MEDIA_LAYER, HA) ",{\"mediaType\":\"" HULL_OCI_MEDIA_LAYER
						  "\",\"digest\":\"sha256:AB\",\"size\":1}]}",
		NULL);
	assert_string_equal(msg, "manifest.layers[2].digest: expected a sha256 digest");
	free(msg);
	msg = manifest_error("{\"schemaVersion\":2,\"config\":" CFG
			     ",\"layers\":[" LAYER("text/plain", HA) "]}",
			     NULL);
	assert_string_equal(msg, "manifest.layers[0].mediaType: unsupported layer type "
				 "'text/plain'");
	free(msg);
	msg = manifest_error("{\"schemaVersion\":1,\"fsLayers\":[]}", NULL);
	assert_non_null(strstr(msg, "schema 1"));
	free(msg);
	msg = manifest_error("{\"schemaVersion\":2,\"mediaType\":\"" HULL_OCI_MEDIA_MANIFEST
			     "\",\"config\":" CFG
			     ",\"layers\":[" LAYER(HULL_OCI_MEDIA_LAYER, HA) "]}",
			     HULL_DOCKER_MEDIA_MANIFEST);
	assert_non_null(strstr(msg, "does not match the content type"));
	free(msg);
	msg = manifest_error("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", NULL);
	assert_string_equal(msg, "manifest.layers: 0 entries, expected 1 to 512");
	free(msg);
	msg = manifest_error("{\"schemaVersion\":2,\"manifests\":[]}", NULL);
	assert_non_null(strstr(msg, "expected an image manifest"));
	free(msg);
	msg = manifest_error("{\"schemaVersion\":2,\"config\":" CFG
			     ",\"layers\":[" LAYER(HULL_OCI_MEDIA_LAYER, HA) "]",
			     NULL);
	assert_non_null(strstr(msg, "manifest: line 1 column"));
	free(msg);
}

static const char index_text[] =
	"{\"schemaVersion\":2,\"manifests\":["
	"{\"mediaType\":\"" HULL_OCI_MEDIA_MANIFEST "\",\"digest\":\"" HA "\",\"size\":1,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
	"{\"mediaType\":\"" HULL_OCI_MEDIA_MANIFEST "\",\"digest\":\"" HB "\",\"size\":2,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	"{\"mediaType\":\"" HULL_OCI_MEDIA_MANIFEST "\",\"digest\":\"" HA "\",\"size\":3,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
	"{\"mediaType\":\"" HULL_OCI_MEDIA_MANIFEST "\",\"digest\":\"" HB "\",\"size\":4,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}}]}";

static void test_index_select(void **state)
{
	struct hull_oci_index *idx = NULL;
	const struct hull_oci_descriptor *d = NULL;
	struct hull_error *err = NULL;

	assert_int_equal(hull_oci_index_parse(index_text, strlen(index_text), NULL, &idx, NULL), 0);
	assert_int_equal(idx->n_manifests, 4);
	assert_int_equal(hull_oci_index_select(idx, "linux/amd64", &d, NULL), 0);
	assert_int_equal(d->size, 2);
	assert_int_equal(hull_oci_index_select(idx, "linux/arm64/v8", &d, NULL), 0);
	assert_int_equal(d->size, 1);
	assert_int_equal(hull_oci_index_select(idx, "linux/arm/v7", &d, NULL), 0);
	assert_int_equal(d->size, 4);
	assert_int_equal(hull_oci_index_select(idx, "linux/arm", &d, NULL), 0);
	assert_int_equal(d->size, 3);
	assert_int_equal(hull_oci_index_select(idx, NULL, &d, NULL), 0);
#if defined(__x86_64__)
	assert_int_equal(d->size, 2);
#endif
	assert_int_equal(hull_oci_index_select(idx, "linux/s390x", &d, &err), -ENOENT);
	assert_string_equal(err->msg, "no manifest for platform 'linux/s390x' (available: "
				      "linux/arm64, linux/amd64, linux/arm/v6, linux/arm/v7)");
	hull_error_free(err);
	err = NULL;
	assert_int_equal(hull_oci_index_select(idx, "linux//x", &d, &err), -EINVAL);
	hull_error_free(err);
	hull_oci_index_free(idx);
}

static void test_image_config(void **state)
{
	const char *t = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"User\":\"1:2\","
			"\"Env\":[\"PATH=/bin\",\"A=b=c\"],\"Entrypoint\":[\"/bin/sh\"],"
			"\"Cmd\":[\"-c\",\"x\"],\"WorkingDir\":\"/srv\",\"ExposedPorts\":"
			"{\"80/tcp\":{}},\"Labels\":{\"k\":\"v\"}},\"rootfs\":{\"type\":"
			"\"layers\",\"diff_ids\":[\"" HA "\"]}}";
	struct hull_oci_image_config *c = NULL;
	struct hull_error *err = NULL;

	assert_int_equal(hull_oci_image_config_parse(t, strlen(t), &c, NULL), 0);
	assert_string_equal(c->config.user, "1:2");
	assert_int_equal(hull_strv_length(c->config.env), 2);
	assert_string_equal(c->config.cmd[1], "x");
	assert_string_equal(c->config.working_dir, "/srv");
	assert_string_equal(c->config.exposed_ports[0], "80/tcp");
	assert_string_equal(c->config.labels[1], "v");
	assert_string_equal(c->rootfs.diff_ids[0], HA);
	hull_oci_image_config_free(c);
	c = NULL;

	t = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH\"]},"
	    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	assert_int_equal(hull_oci_image_config_parse(t, strlen(t), &c, &err), -EINVAL);
	assert_string_equal(err->msg, "config.Env[0]: expected KEY=VALUE");
	hull_error_free(err);
	err = NULL;
	t = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
	    "\"diff_ids\":[\"md5:x\"]}}";
	assert_int_equal(hull_oci_image_config_parse(t, strlen(t), &c, &err), -EINVAL);
	assert_string_equal(err->msg, "rootfs.diff_ids[0]: expected a sha256 digest");
	hull_error_free(err);
}

static void test_digest(void **state)
{
	struct hull_error *err = NULL;
	char d[HULL_DIGEST_MAX];

	assert_true(hull_digest_valid(HA));
	assert_false(
		hull_digest_valid("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				  "AAAAAAAA"));
	assert_false(hull_digest_valid(HA "a"));
	assert_false(hull_digest_valid("sha256:"));
	assert_int_equal(hull_digest_check("sha512:abc", &err), -EINVAL);
	assert_non_null(strstr(err->msg, "unsupported algorithm"));
	hull_error_free(err);
	assert_int_equal(hull_digest_buffer("", 0, d), 0);
	assert_string_equal(
		d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_ok),  cmocka_unit_test(test_manifest_errors),
		cmocka_unit_test(test_index_select), cmocka_unit_test(test_image_config),
		cmocka_unit_test(test_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
