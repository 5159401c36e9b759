/*
 * offload.h - one worker thread for the work that would stall the event
 * loop: writing and hashing cache fills, and their fsyncs.
 *
 * A job runs on the worker (oj_run) and is then completed on the event
 * loop (oj_done), in the order the jobs were submitted. oj_run touches
 * only what its submitter hands over for the job's lifetime: nothing
 * else of the loop's. The caller owns the job's memory and bounds how
 * much it queues; the queue itself never refuses a job.
 *
 * With no offload (NULL, as in the unit tests), or once offload_free has
 * begun, offload_submit runs the job and completes it before returning.
 */
#ifndef WSUS_OFFLOAD_H
#define WSUS_OFFLOAD_H

struct event_base;
struct offload;

struct offload_job {
    struct offload_job *oj_next; /* the queue's */
    void (*oj_run)(struct offload_job *j);
    void (*oj_done)(struct offload_job *j);
};

/* Start the worker; completions arrive through base. NULL with err. */
struct offload *offload_new(struct event_base *base, char *err, size_t errlen);

void offload_submit(struct offload *o, struct offload_job *j);

/* Run every job still queued, complete them all (from this thread, so
 * their oj_done may free what they hold), stop the worker and free o.
 * Before event_base_free of its base. o may be NULL. */
void offload_free(struct offload *o);

/* Jobs submitted and not yet completed. */
unsigned offload_pending(const struct offload *o);

#endif
