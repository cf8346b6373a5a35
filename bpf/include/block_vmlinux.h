/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Block-layer and page-cache types for conbiograph, written by hand in the
 * style of contrace_vmlinux.h: every struct carries preserve_access_index, so
 * only the named fields must exist (CO-RE relocates their offsets; libbpf
 * also finds fields that the kernel nests in anonymous unions).
 */
#ifndef __CONTRACE_BLOCK_VMLINUX_H
#define __CONTRACE_BLOCK_VMLINUX_H

#include "contrace_vmlinux.h"

typedef u64 sector_t;
typedef u32 blk_opf_t;
typedef u8 blk_status_t;

struct address_space {
	struct inode *host;
} __attribute__((preserve_access_index));

/* compound_head (tail pages: head address | 1) and mapping share unions in
 * the kernel's struct page; libbpf matches them by name. */
struct page {
	unsigned long compound_head;
	struct address_space *mapping;
} __attribute__((preserve_access_index));

struct folio {
	struct address_space *mapping;
} __attribute__((preserve_access_index));

struct blk_mq_ops;

struct request_queue {
	const struct blk_mq_ops *mq_ops;
} __attribute__((preserve_access_index));

struct block_device;

struct gendisk {
	int major;
	int first_minor;
	struct request_queue *queue;
} __attribute__((preserve_access_index));

struct block_device {
	dev_t bd_dev;
	struct gendisk *bd_disk;
} __attribute__((preserve_access_index));

struct bio_vec {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
} __attribute__((preserve_access_index));

struct bvec_iter {
	sector_t bi_sector;
	unsigned int bi_size;
} __attribute__((preserve_access_index));

struct bio {
	struct block_device *bi_bdev;
	blk_opf_t bi_opf;
	struct bvec_iter bi_iter;
	struct bio_vec *bi_io_vec;
} __attribute__((preserve_access_index));

struct request {
	sector_t __sector;
	struct bio *bio;
} __attribute__((preserve_access_index));

#endif /* __CONTRACE_BLOCK_VMLINUX_H */
