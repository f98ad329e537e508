/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (virtio 1.2, 5.2) over a raw image file or block device.
 *
 * One request queue, served on the notifying vCPU thread with preadv/pwritev
 * straight between the image and the guest's buffers.  A request is a header
 * {type, reserved, sector} in the readable part, the data, and one status byte,
 * the last writable byte.  The sector range is checked against the capacity
 * before any I/O (overflow-safe); data lengths must be whole sectors; writes to
 * a read-only disk get VIRTIO_BLK_S_IOERR without touching the image.  A chain
 * without room for the header or the status byte is a broken driver: NEEDS_RESET.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "vmm/virtio-dev.h"

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR_SIZE 512ULL

#define BLK_QUEUE_SIZE 256
/* header and status take two descriptors of a chain */
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2)
/* what we tell the driver a segment may hold, and what one request may move */
#define BLK_SIZE_MAX (1U << 20)
#define BLK_REQUEST_MAX ((size_t)BLK_SEG_MAX * BLK_SIZE_MAX)

struct blk_config {
	uint64_t capacity; /* in 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint8_t pad[0x40 - 16]; /* geometry, blk_size, topology...: not offered, read as 0 */
} __attribute__((packed));

struct virtio_blk {
	struct hull_virtio_dev dev;
	int fd;
	bool readonly;
	uint64_t capacity;
	char id[VIRTIO_BLK_ID_BYTES];
	struct blk_config config;
	struct hull_virtq_chain chain;
	struct iovec data[HULL_VIRTQ_MAX_SIZE];
};

struct blk_req_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static uint64_t blk_features(struct hull_virtio_dev *dev)
{
	struct virtio_blk *blk = (struct virtio_blk *)dev;
	uint64_t f = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_SIZE_MAX) |
		     (1ULL << VIRTIO_BLK_F_FLUSH);

	if (blk->readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	return f;
}

static void blk_read_config(struct hull_virtio_dev *dev, size_t offset, void *data, size_t len)
{
	struct virtio_blk *blk = (struct virtio_blk *)dev;

	memcpy(data, (const uint8_t *)&blk->config + offset, len);
}

/* The whole of iov at `offset` in the image, as one preadv/pwritev loop. */
static int blk_io(struct virtio_blk *blk, bool write, struct iovec *iov, size_t n, off_t offset)
{
	while (n > 0) {
		ssize_t k = write ? pwritev(blk->fd, iov, (int)n, offset)
				  : preadv(blk->fd, iov, (int)n, offset);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO; /* the image shrank under us */
		offset += k;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* Checks a data transfer of len bytes at sector against the disk. */
static bool range_ok(const struct virtio_blk *blk, uint64_t sector, size_t len)
{
	uint64_t sectors = len / SECTOR_SIZE;

	if (len % SECTOR_SIZE != 0 || len > BLK_REQUEST_MAX)
		return false;
	return sector <= blk->capacity && sectors <= blk->capacity - sector;
}

/*
 * Serves one request; returns the bytes written into the guest's buffers
 * (status byte included), or -EINVAL for a chain that cannot be a request.
 */
static int blk_request(struct virtio_blk *blk)
{
	struct hull_virtq_chain *c = &blk->chain;
	struct blk_req_header h;
	size_t data_in, data_out, n;
	uint32_t written = 0;
	uint8_t status = VIRTIO_BLK_S_OK;

	if (c->in_len < 1 || hull_virtq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		return -EINVAL;
	h.type = le32toh(h.type);
	h.sector = le64toh(h.sector);
	data_out = c->out_len - sizeof(h); /* bytes after the header */
	data_in = c->in_len - 1;	   /* bytes before the status byte */

	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		if (!range_ok(blk, h.sector, data_in)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = hull_iov_slice(c->in, c->n_in, 0, data_in, blk->data, ELEMENTSOF(blk->data));
		if (blk_io(blk, false, blk->data, n, (off_t)(h.sector * SECTOR_SIZE)) < 0)
			status = VIRTIO_BLK_S_IOERR;
		else
			written = (uint32_t)data_in;
		break;
	case VIRTIO_BLK_T_OUT:
		if (blk->readonly || !range_ok(blk, h.sector, data_out)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = hull_iov_slice(c->out, c->n_out, sizeof(h), data_out, blk->data,
				   ELEMENTSOF(blk->data));
		if (blk_io(blk, true, blk->data, n, (off_t)(h.sector * SECTOR_SIZE)) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!blk->readonly && fdatasync(blk->fd) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		/* up to 20 bytes, not NUL-terminated when it fills them (5.2.6) */
		written = (uint32_t)hull_virtq_chain_write(
			c, 0, blk->id,
			data_in < VIRTIO_BLK_ID_BYTES ? data_in : VIRTIO_BLK_ID_BYTES);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	hull_virtq_chain_write(c, c->in_len - 1, &status, 1);
	return (int)(written + 1);
}

static void blk_notify(struct hull_virtio_dev *dev, size_t q)
{
	struct virtio_blk *blk = (struct virtio_blk *)dev;
	struct hull_virtq *vq = &dev->queues[0];
	bool pushed = false;
	int r;

	while ((r = hull_virtq_pop(dev, vq, &blk->chain)) > 0) {
		r = blk_request(blk);
		if (r < 0)
			break;
		hull_virtq_push(vq, blk->chain.head, (uint32_t)r);
		pushed = true;
	}
	if (r < 0)
		hull_virtio_dev_fail(dev, "bad request chain");
	if (pushed)
		hull_virtq_signal(dev, vq);
}

static void blk_free(struct hull_virtio_dev *dev)
{
	struct virtio_blk *blk = (struct virtio_blk *)dev;

	safe_close(blk->fd);
	hull_virtio_dev_done(dev);
	free(blk);
}

static const struct hull_virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = HULL_VIRTIO_ID_BLOCK,
	.n_queues = 1,
	.queue_max_size = BLK_QUEUE_SIZE,
	.features = blk_features,
	.config_size = sizeof(struct blk_config),
	.read_config = blk_read_config,
	.notify = blk_notify,
	.free = blk_free,
};

static int image_size(int fd, const struct stat *st, uint64_t *ret)
{
	if (S_ISREG(st->st_mode)) {
		*ret = (uint64_t)st->st_size;
		return 0;
	}
	if (S_ISBLK(st->st_mode))
		return ioctl(fd, BLKGETSIZE64, ret) < 0 ? -errno : 0;
	return -EINVAL;
}

int hull_virtio_blk_new(const char *path, bool readonly, struct hull_virtio_dev **ret,
			struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct virtio_blk *blk;
	struct stat st;
	uint64_t size;
	int r;

	fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "disk '%s'", path);
	if (fstat(fd, &st) < 0)
		return hull_error_errno(reterr, -errno, "disk '%s'", path);
	r = image_size(fd, &st, &size);
	if (r == -EINVAL)
		return hull_error_set(reterr, r, "disk '%s': not a regular file or block device",
				      path);
	if (r < 0)
		return hull_error_errno(reterr, r, "disk '%s'", path);
	if (size < SECTOR_SIZE)
		return hull_error_set(reterr, -EINVAL, "disk '%s': smaller than one sector", path);
	/* two VMs writing one image corrupt it: writers exclusive, readers shared */
	if (flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return hull_error_errno(reterr, errno == EWOULDBLOCK ? -EBUSY : -errno,
					"disk '%s': in use by another VM", path);

	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return hull_error_errno(reterr, -ENOMEM, "disk '%s'", path);
	r = hull_virtio_dev_init(&blk->dev, &blk_ops);
	if (r < 0) {
		free(blk);
		return hull_error_errno(reterr, r, "disk '%s'", path);
	}
	blk->readonly = readonly;
	/* a trailing partial sector is not part of the disk */
	blk->capacity = size / SECTOR_SIZE;
	blk->config.capacity = htole64(blk->capacity);
	blk->config.size_max = htole32(BLK_SIZE_MAX);
	blk->config.seg_max = htole32(BLK_SEG_MAX);
	/* the serial the guest sees (/sys/block/vda/serial): stable for one file */
	snprintf(blk->id, sizeof(blk->id), "hull%llx",
		 (unsigned long long)(st.st_ino ^ ((uint64_t)st.st_dev << 40)));
	blk->fd = TAKE_FD(fd);
	*ret = &blk->dev;
	return 0;
}
