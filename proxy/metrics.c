/*
 * metrics.c - request and failure counters (metrics.h). A table walk per
 * request: the tables hold a few dozen rows at most.
 */
#include <stdio.h>
#include <string.h>

#include "metrics.h"

void
metrics_request(struct metrics *m, const char *plan, int status, uint64_t in,
                uint64_t out)
{
    struct metrics_req *r = NULL;

    if (plan == NULL)
        plan = "-";
    m->mt_bytes_in += in;
    m->mt_bytes_out += out;
    for (size_t i = 0; i < m->mt_nreq; i++)
        if (m->mt_req[i].mr_status == status &&
            strcmp(m->mt_req[i].mr_plan, plan) == 0)
            r = &m->mt_req[i];
    if (r == NULL && m->mt_nreq < METRICS_MAX_REQ - 1) {
        r = &m->mt_req[m->mt_nreq++];
        snprintf(r->mr_plan, sizeof(r->mr_plan), "%s", plan);
        r->mr_status = status;
    }
    if (r == NULL) {
        /* The last row collects whatever does not fit. */
        r = &m->mt_req[METRICS_MAX_REQ - 1];
        if (m->mt_nreq < METRICS_MAX_REQ) {
            m->mt_nreq = METRICS_MAX_REQ;
            snprintf(r->mr_plan, sizeof(r->mr_plan), "other");
            r->mr_status = 0;
        }
    }
    r->mr_n++;
}

void
metrics_upstream_failure(struct metrics *m, const char *label)
{
    struct metrics_up *u = NULL;

    if (label == NULL || label[0] == '\0')
        label = "-";
    for (size_t i = 0; i < m->mt_nup; i++)
        if (strcmp(m->mt_up[i].mu_label, label) == 0)
            u = &m->mt_up[i];
    if (u == NULL && m->mt_nup < METRICS_MAX_UP - 1) {
        u = &m->mt_up[m->mt_nup++];
        snprintf(u->mu_label, sizeof(u->mu_label), "%s", label);
    }
    if (u == NULL) {
        u = &m->mt_up[METRICS_MAX_UP - 1];
        if (m->mt_nup < METRICS_MAX_UP) {
            m->mt_nup = METRICS_MAX_UP;
            snprintf(u->mu_label, sizeof(u->mu_label), "other");
        }
    }
    u->mu_failures++;
}
