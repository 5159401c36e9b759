/*
 * spool.c - request bodies in memory, then in a temporary file (spool.h).
 */
#include <event2/buffer.h>

#include "plat.h"
#include "shim_limits.h"
#include "spool.h"

int
spool_init(struct spool *sp)
{
    sp->sp_fd = -1;
    sp->sp_len = 0;
    sp->sp_flushed = 0;
    sp->sp_seg = NULL;
    sp->sp_mem = evbuffer_new();
    return sp->sp_mem == NULL ? -1 : 0;
}

/* Write what sp_mem holds to the file, after what is there. */
static int
spool_flush(struct spool *sp)
{
    size_t have = evbuffer_get_length(sp->sp_mem);
    const void *mem;

    if (have == 0)
        return 0;
    mem = evbuffer_pullup(sp->sp_mem, (ev_ssize_t)have);
    if (mem == NULL ||
        plat_pwrite_all(sp->sp_fd, mem, have, sp->sp_flushed) == -1)
        return -1;
    evbuffer_drain(sp->sp_mem, have);
    sp->sp_flushed += have;
    return 0;
}

int
spool_add(struct spool *sp, const char *p, size_t n, uint64_t memory_max)
{
    if (sp->sp_fd == -1 && sp->sp_len + n > memory_max) {
        /* Above the memory threshold: move to a spool file; what memory
         * holds is written with the next piece. */
        sp->sp_fd = plat_tmpfile(NULL);
        if (sp->sp_fd == -1)
            return -1;
        sp->sp_flushed = 0;
    }
    if (evbuffer_add(sp->sp_mem, p, n) == -1)
        return -1;
    sp->sp_len += n;
    if (sp->sp_fd != -1 &&
        evbuffer_get_length(sp->sp_mem) >= SPOOL_WRITE_CHUNK &&
        spool_flush(sp) == -1)
        return -1;
    return 0;
}

int
spool_seal(struct spool *sp)
{
    if (sp->sp_fd == -1 || sp->sp_seg != NULL)
        return 0;
    if (spool_flush(sp) == -1)
        return -1;
    sp->sp_seg = evbuffer_file_segment_new(sp->sp_fd, 0, (ev_off_t)sp->sp_len,
                                           EVBUF_FS_CLOSE_ON_FREE);
    return sp->sp_seg == NULL ? -1 : 0;
}

struct evbuffer *
spool_mem(const struct spool *sp)
{
    return sp->sp_len > 0 && sp->sp_fd == -1 ? sp->sp_mem : NULL;
}

struct evbuffer_file_segment *
spool_segment(const struct spool *sp)
{
    return sp->sp_seg;
}

void
spool_reset(struct spool *sp)
{
    if (sp->sp_seg != NULL) {
        /* The segment owns the fd. */
        evbuffer_file_segment_free(sp->sp_seg);
        sp->sp_seg = NULL;
        sp->sp_fd = -1;
    }
    if (sp->sp_fd != -1) {
        plat_close(sp->sp_fd);
        sp->sp_fd = -1;
    }
    if (sp->sp_mem != NULL)
        evbuffer_drain(sp->sp_mem, evbuffer_get_length(sp->sp_mem));
    sp->sp_len = 0;
    sp->sp_flushed = 0;
}

void
spool_free(struct spool *sp)
{
    spool_reset(sp);
    if (sp->sp_mem != NULL)
        evbuffer_free(sp->sp_mem);
    sp->sp_mem = NULL;
}
