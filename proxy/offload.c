/*
 * offload.c - the worker thread (offload.h).
 *
 *   loop:   submit --> [todo] --> worker: oj_run --> [done] --wake-->
 *   loop:   offload_cb: oj_done, in order
 *
 * One lock guards both lists and the stop flag. The worker wakes the loop
 * with one byte on a socket pair when the done list turns non-empty
 * (o_woken); the loop drains the socket before it takes the list, so a
 * completion pushed in between is either taken now or announced by a
 * byte of its own.
 */
#include <stdlib.h>

#include <event2/event.h>
#include <event2/util.h>

#include "offload.h"
#include "plat.h"
#include "strparse.h"

struct offload {
    struct plat_lock *o_lock;
    struct plat_thread *o_thr;
    struct offload_job *o_todo, **o_todo_tail; /* under o_lock */
    struct offload_job *o_done, **o_done_tail; /* under o_lock */
    int o_stop;                                /* under o_lock */
    int o_woken;               /* under o_lock: a wake byte is on its way */
    int o_inline;              /* loop only: offload_free has begun */
    unsigned o_pending;        /* loop only */
    evutil_socket_t o_wake[2]; /* [0] the loop reads, [1] the worker writes */
    int o_have_wake;           /* o_wake is open */
    struct event *o_ev;
};

static void
push(struct offload_job ***tail, struct offload_job *j)
{
    j->oj_next = NULL;
    **tail = j;
    *tail = &j->oj_next;
}

static void
worker_main(void *arg)
{
    struct offload *o = arg;

    plat_lock(o->o_lock);
    for (;;) {
        struct offload_job *j = o->o_todo;
        if (j == NULL) {
            if (o->o_stop)
                break;
            plat_lock_wait(o->o_lock);
            continue;
        }
        if ((o->o_todo = j->oj_next) == NULL)
            o->o_todo_tail = &o->o_todo;
        plat_unlock(o->o_lock);
        j->oj_run(j);
        plat_lock(o->o_lock);
        push(&o->o_done_tail, j);
        if (!o->o_woken) {
            char b = 1;
            o->o_woken = 1;
            /* A full socket already holds a byte: that one wakes. */
            (void)plat_send(o->o_wake[1], &b, 1);
        }
    }
    plat_unlock(o->o_lock);
}

/* Complete what the worker finished, in order. */
static void
offload_complete(struct offload *o)
{
    struct offload_job *list;

    plat_lock(o->o_lock);
    list = o->o_done;
    o->o_done = NULL;
    o->o_done_tail = &o->o_done;
    o->o_woken = 0;
    plat_unlock(o->o_lock);
    while (list != NULL) {
        struct offload_job *j = list;
        list = j->oj_next;
        o->o_pending--;
        j->oj_done(j); /* may submit more, or free j */
    }
}

static void
offload_cb(evutil_socket_t fd, short what, void *arg)
{
    char buf[64];

    (void)what;
    while (plat_recv(fd, buf, sizeof(buf)) > 0)
        ;
    offload_complete(arg);
}

struct offload *
offload_new(struct event_base *base, char *err, size_t errlen)
{
    struct offload *o = calloc(1, sizeof(*o));

    if (o == NULL) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    o->o_todo_tail = &o->o_todo;
    o->o_done_tail = &o->o_done;
    if ((o->o_lock = plat_lock_new()) == NULL) {
        errfmt(err, errlen, "out of memory");
        goto fail;
    }
    if (plat_socketpair(o->o_wake) == 0)
        o->o_have_wake = 1;
    if (!o->o_have_wake || evutil_make_socket_nonblocking(o->o_wake[0]) == -1 ||
        evutil_make_socket_nonblocking(o->o_wake[1]) == -1 ||
        evutil_make_socket_closeonexec(o->o_wake[0]) == -1 ||
        evutil_make_socket_closeonexec(o->o_wake[1]) == -1) {
        errfmt(err, errlen, "cannot make the worker's socket pair");
        goto fail;
    }
    o->o_ev =
        event_new(base, o->o_wake[0], EV_READ | EV_PERSIST, offload_cb, o);
    if (o->o_ev == NULL || event_add(o->o_ev, NULL) == -1) {
        errfmt(err, errlen, "cannot watch the worker's socket");
        goto fail;
    }
    if ((o->o_thr = plat_thread_start(worker_main, o)) == NULL) {
        errfmt(err, errlen, "cannot start the worker thread");
        goto fail;
    }
    return o;
fail:
    o->o_inline = 1;
    offload_free(o);
    return NULL;
}

void
offload_submit(struct offload *o, struct offload_job *j)
{
    if (o == NULL || o->o_inline) {
        j->oj_run(j);
        j->oj_done(j);
        return;
    }
    o->o_pending++;
    plat_lock(o->o_lock);
    push(&o->o_todo_tail, j);
    plat_lock_signal(o->o_lock);
    plat_unlock(o->o_lock);
}

void
offload_free(struct offload *o)
{
    if (o == NULL)
        return;
    if (o->o_thr != NULL) {
        plat_lock(o->o_lock);
        o->o_stop = 1;
        plat_lock_signal(o->o_lock);
        plat_unlock(o->o_lock);
        plat_thread_join(o->o_thr); /* after the last queued job */
        o->o_thr = NULL;
    }
    /* Completions may submit more: from here those run inline. */
    o->o_inline = 1;
    if (o->o_lock != NULL)
        offload_complete(o);
    if (o->o_ev != NULL)
        event_free(o->o_ev);
    if (o->o_have_wake) {
        evutil_closesocket(o->o_wake[0]);
        evutil_closesocket(o->o_wake[1]);
    }
    plat_lock_free(o->o_lock);
    free(o);
}

unsigned
offload_pending(const struct offload *o)
{
    return o == NULL ? 0 : o->o_pending;
}
