/*
 * spool.h - a request body on its way upstream: kept in memory up to a
 * threshold ([limits] body_memory), then moved whole to a temporary file,
 * so a large POST never sits in memory.
 *
 * One spool per client connection, reused request after request.
 */
#ifndef WSUS_SPOOL_H
#define WSUS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct evbuffer_file_segment;

struct spool {
    struct evbuffer *sp_mem; /* the body while in memory; in a file, the
                                bytes not yet written to it */
    int sp_fd;               /* the spool file, or -1 */
    uint64_t sp_len;         /* bytes added */
    uint64_t sp_flushed;     /* bytes written to the file */
    struct evbuffer_file_segment *sp_seg; /* after spool_seal; owns sp_fd */
};

/* An empty spool. Returns 0 or -1 (ENOMEM). */
int spool_init(struct spool *sp);

/* Append n bytes. While sp_len + n stays within memory_max they go to
 * memory; past it everything moves to a temporary file, written in
 * pieces of SPOOL_WRITE_CHUNK (shim_limits.h) so a body that arrives in
 * tiny chunks costs one write per piece, not one per chunk. Returns 0 or
 * -1 (no memory, no temporary file, a short write). */
int spool_add(struct spool *sp, const char *p, size_t n, uint64_t memory_max);

/* The body is complete: a file-backed body has its last bytes written
 * and becomes a file segment to send from. Returns 0 or -1. */
int spool_seal(struct spool *sp);

/* What to send: the memory buffer (NULL when empty or in a file) and the
 * file segment (NULL unless sealed in a file). */
struct evbuffer *spool_mem(const struct spool *sp);
struct evbuffer_file_segment *spool_segment(const struct spool *sp);

/* Forget the body (close the file); the spool can take the next one. */
void spool_reset(struct spool *sp);

/* Reset and free the memory buffer. */
void spool_free(struct spool *sp);

#endif
