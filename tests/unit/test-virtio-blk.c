/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk over a temporary image file, driven through the mmio registers
 * with requests laid out in guest memory as Linux's virtio_blk makes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "virtio-driver.h"
#include "vmm/virtio-dev.h"

#define SECTORS 8
#define IMAGE_SIZE (SECTORS * 512 + 100) /* a trailing partial sector */

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

struct fixture {
	char path[64];
	uint8_t image[IMAGE_SIZE];
	struct drv d;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/hull-test-blk-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	for (size_t i = 0; i < IMAGE_SIZE; i++)
		f->image[i] = (uint8_t)(i * 7 + i / 512);
	assert_int_equal(hull_write_all(fd, f->image, IMAGE_SIZE), 0);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	free(f);
	return 0;
}

static void read_image(struct fixture *f, uint8_t *buf)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(hull_read_all(fd, buf, IMAGE_SIZE), IMAGE_SIZE);
	close(fd);
}

static void start(struct fixture *f, bool readonly, uint64_t want)
{
	struct hull_virtio_dev *dev = NULL;

	assert_int_equal(hull_virtio_blk_new(f->path, readonly, &dev, NULL), 0);
	drv_start(&f->d, dev, 1, want);
}

/* A header buffer in guest memory. */
static uint64_t header(struct drv *d, uint32_t type, uint64_t sector)
{
	uint64_t gpa = drv_alloc(d, 16);
	uint32_t h[4] = { htole32(type), 0, htole32((uint32_t)sector),
			  htole32((uint32_t)(sector >> 32)) };

	memcpy(drv_ptr(d, gpa, 16), h, 16);
	return gpa;
}

/* Submits a chain, notifies, returns the status byte at status_gpa and the used length. */
static uint8_t submit(struct drv *d, const struct drv_seg *segs, size_t n, uint64_t status_gpa,
		      uint32_t *ret_len, bool indirect)
{
	uint32_t id = 0, len = 0;
	uint16_t head;

	*(uint8_t *)drv_ptr(d, status_gpa, 1) = 0xee;
	head = indirect ? drv_add_indirect(d, 0, segs, n) : drv_add(d, 0, segs, n);
	drv_notify(d, 0);
	assert_true(drv_used(d, 0, &id, &len));
	assert_int_equal(id, head);
	if (ret_len)
		*ret_len = len;
	return *(uint8_t *)drv_ptr(d, status_gpa, 1);
}

static uint8_t rw(struct drv *d, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
		  uint32_t *ret_len)
{
	uint64_t st = drv_alloc(d, 1);
	struct drv_seg segs[3] = { { header(d, type, sector), 16, false },
				   { data, len, type != T_OUT },
				   { st, 1, true } };

	return submit(d, segs, 3, st, ret_len, false);
}

static void test_config_and_features(void **state)
{
	struct fixture *f = *state;
	uint64_t cap = 0, feat;
	uint32_t seg_max = 0;

	start(f, false, ~0ULL);
	hull_virtio_mmio_read(f->d.t, HULL_VIRTIO_MMIO_CONFIG, &cap, 8);
	assert_int_equal(le64toh(cap), SECTORS);
	hull_virtio_mmio_read(f->d.t, HULL_VIRTIO_MMIO_CONFIG + 12, &seg_max, 4);
	assert_int_equal(le32toh(seg_max), 254);
	/* past the config space: zeros, no access outside it */
	cap = ~0ULL;
	hull_virtio_mmio_read(f->d.t, HULL_VIRTIO_MMIO_CONFIG + 0x3c, &cap, 8);
	assert_int_equal(cap, 0);
	assert_int_equal(drv_r32(&f->d, HULL_VIRTIO_MMIO_DEVICE_ID), HULL_VIRTIO_ID_BLOCK);
	drv_w32(&f->d, HULL_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat = drv_r32(&f->d, HULL_VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(feat & (1 << 9));  /* FLUSH */
	assert_true(feat & (1 << 2));  /* SEG_MAX */
	assert_false(feat & (1 << 5)); /* not RO */
	drv_stop(&f->d);
}

static void test_read_write(void **state)
{
	struct fixture *f = *state;
	uint8_t now[IMAGE_SIZE];
	uint64_t buf, st;
	uint32_t len;

	start(f, false, 0);
	buf = drv_alloc(&f->d, 1024);
	assert_int_equal(rw(&f->d, T_IN, 2, buf, 1024, &len), S_OK);
	assert_int_equal(len, 1025);
	assert_memory_equal(drv_ptr(&f->d, buf, 1024), f->image + 1024, 1024);

	/* the last whole sector, written from two descriptors */
	buf = drv_alloc(&f->d, 512);
	memset(drv_ptr(&f->d, buf, 512), 0x5a, 512);
	st = drv_alloc(&f->d, 1);
	assert_int_equal(
		submit(&f->d,
		       (struct drv_seg[]){ { header(&f->d, T_OUT, SECTORS - 1), 16, false },
					   { buf, 200, false },
					   { buf + 200, 312, false },
					   { st, 1, true } },
		       4, st, &len, false),
		S_OK);
	assert_int_equal(len, 1);
	read_image(f, now);
	memset(f->image + (SECTORS - 1) * 512, 0x5a, 512);
	assert_memory_equal(now, f->image, IMAGE_SIZE);

	/* reads back through an indirect table, header and status in the same table */
	buf = drv_alloc(&f->d, 512);
	st = drv_alloc(&f->d, 1);
	assert_int_equal(submit(&f->d,
				(struct drv_seg[]){ { header(&f->d, T_IN, SECTORS - 1), 16, false },
						    { buf, 512, true },
						    { st, 1, true } },
				3, st, &len, true),
			 S_OK);
	assert_int_equal(len, 513);
	assert_memory_equal(drv_ptr(&f->d, buf, 512), f->image + (SECTORS - 1) * 512, 512);

	/* status byte sharing the data's descriptor */
	buf = drv_alloc(&f->d, 513);
	assert_int_equal(submit(&f->d,
				(struct drv_seg[]){ { header(&f->d, T_IN, 0), 16, false },
						    { buf, 513, true } },
				2, buf + 512, &len, false),
			 S_OK);
	assert_memory_equal(drv_ptr(&f->d, buf, 512), f->image, 512);

	assert_int_equal(rw(&f->d, T_FLUSH, 0, drv_alloc(&f->d, 1), 0, NULL), S_OK);
	assert_false(drv_needs_reset(&f->d));
	drv_stop(&f->d);
}

static void test_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t now[IMAGE_SIZE];
	uint64_t buf;
	uint32_t len;

	start(f, false, 0);
	buf = drv_alloc(&f->d, 1024);
	memset(drv_ptr(&f->d, buf, 1024), 0x11, 1024);
	/* one sector past the end; the partial tail sector; a wrapping sector number */
	assert_int_equal(rw(&f->d, T_IN, SECTORS - 1, buf, 1024, &len), S_IOERR);
	assert_int_equal(len, 1);
	assert_int_equal(rw(&f->d, T_IN, SECTORS, buf, 512, NULL), S_IOERR);
	assert_int_equal(rw(&f->d, T_OUT, SECTORS - 1, buf, 1024, NULL), S_IOERR);
	assert_int_equal(rw(&f->d, T_OUT, UINT64_MAX, buf, 512, NULL), S_IOERR);
	assert_int_equal(rw(&f->d, T_IN, UINT64_MAX / 512 + 1, buf, 512, NULL), S_IOERR);
	assert_int_equal(rw(&f->d, T_OUT, (1ULL << 63) / 256, buf, 512, NULL), S_IOERR);
	/* not a whole number of sectors */
	assert_int_equal(rw(&f->d, T_IN, 0, buf, 100, NULL), S_IOERR);
	assert_int_equal(rw(&f->d, T_OUT, 0, buf, 513, NULL), S_IOERR);
	/* nothing was written, nothing read into the buffer */
	read_image(f, now);
	assert_memory_equal(now, f->image, IMAGE_SIZE);
	for (size_t i = 0; i < 1024; i++)
		assert_int_equal(((uint8_t *)drv_ptr(&f->d, buf, 1024))[i], 0x11);
	/* types the device does not know */
	assert_int_equal(rw(&f->d, 99, 0, buf, 512, NULL), S_UNSUPP);
	assert_int_equal(rw(&f->d, 11 /* WRITE_ZEROES */, 0, buf, 512, NULL), S_UNSUPP);
	assert_false(drv_needs_reset(&f->d));
	drv_stop(&f->d);
}

static void test_get_id(void **state)
{
	struct fixture *f = *state;
	uint64_t buf;
	uint32_t len;

	start(f, false, 0);
	buf = drv_alloc(&f->d, 20);
	assert_int_equal(rw(&f->d, T_GET_ID, 0, buf, 20, &len), S_OK);
	assert_int_equal(len, 21);
	assert_memory_equal(drv_ptr(&f->d, buf, 4), "hull", 4);
	/* a shorter buffer gets a shorter id, no more */
	buf = drv_alloc(&f->d, 8);
	memset(drv_ptr(&f->d, buf, 8), 0x77, 8);
	assert_int_equal(rw(&f->d, T_GET_ID, 0, buf, 3, &len), S_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(drv_ptr(&f->d, buf, 3), "hul", 3);
	assert_int_equal(((uint8_t *)drv_ptr(&f->d, buf, 4))[3], 0x77);
	drv_stop(&f->d);
}

static void test_readonly(void **state)
{
	struct fixture *f = *state;
	uint8_t now[IMAGE_SIZE];
	uint64_t buf;

	start(f, true, ~0ULL);
	drv_w32(&f->d, HULL_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_true(drv_r32(&f->d, HULL_VIRTIO_MMIO_DEVICE_FEATURES) & (1 << 5));
	buf = drv_alloc(&f->d, 512);
	memset(drv_ptr(&f->d, buf, 512), 0x33, 512);
	assert_int_equal(rw(&f->d, T_OUT, 0, buf, 512, NULL), S_IOERR);
	read_image(f, now);
	assert_memory_equal(now, f->image, IMAGE_SIZE);
	assert_int_equal(rw(&f->d, T_IN, 1, buf, 512, NULL), S_OK);
	assert_memory_equal(drv_ptr(&f->d, buf, 512), f->image + 512, 512);
	drv_stop(&f->d);
}

/* Chains that cannot be requests: no full header, no status byte. */
static void test_malformed(void **state)
{
	struct fixture *f = *state;
	uint64_t buf = 0;
	uint32_t id, len;

	start(f, false, 0);
	buf = drv_alloc(&f->d, 512);
	drv_add(&f->d, 0,
		(struct drv_seg[]){ { header(&f->d, T_IN, 0), 8, false }, { buf, 512, true } }, 2);
	drv_notify(&f->d, 0);
	assert_false(drv_used(&f->d, 0, &id, &len));
	assert_true(drv_needs_reset(&f->d));
	drv_stop(&f->d);

	start(f, false, 0);
	buf = drv_alloc(&f->d, 512);
	drv_add(&f->d, 0,
		(struct drv_seg[]){ { header(&f->d, T_OUT, 0), 16, false }, { buf, 512, false } },
		2);
	drv_notify(&f->d, 0);
	assert_true(drv_needs_reset(&f->d));
	drv_stop(&f->d);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct hull_virtio_dev *a = NULL, *b = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	char small[] = "/tmp/hull-test-blk-small-XXXXXX";
	int fd;

	assert_int_equal(hull_virtio_blk_new("/nonexistent/disk.img", true, &a, &err), -ENOENT);
	assert_non_null(strstr(err->msg, "'/nonexistent/disk.img'"));
	assert_int_equal(hull_virtio_blk_new("/tmp", true, &a, NULL), -EINVAL);
	fd = mkstemp(small);
	assert_true(fd >= 0);
	assert_int_equal(hull_write_all(fd, "x", 1), 0);
	close(fd);
	assert_int_equal(hull_virtio_blk_new(small, true, &a, NULL), -EINVAL);
	unlink(small);

	/* one writer at a time; readers share */
	assert_int_equal(hull_virtio_blk_new(f->path, false, &a, NULL), 0);
	assert_int_equal(hull_virtio_blk_new(f->path, false, &b, NULL), -EBUSY);
	assert_int_equal(hull_virtio_blk_new(f->path, true, &b, NULL), -EBUSY);
	hull_virtio_dev_free(a);
	assert_int_equal(hull_virtio_blk_new(f->path, true, &a, NULL), 0);
	assert_int_equal(hull_virtio_blk_new(f->path, true, &b, NULL), 0);
	hull_virtio_dev_free(a);
	hull_virtio_dev_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_and_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
