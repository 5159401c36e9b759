/*
 * auth_gss.c - Negotiate (RFC 4559) through MIT GSSAPI, on POSIX.
 *
 * The token is SPNEGO with Kerberos as its only mechanism (gss-ntlmssp,
 * when installed, is kept out: NTLM has its own built-in mechanism). Each
 * session is one fresh security context, because the parent's acceptor
 * (Squid's negotiate_kerberos_auth, Windows) keeps a replay cache and
 * refuses a token it has seen.
 *
 * The target is HTTP@<parent host> as a host-based service: the parent's
 * name as configured, never an address (HTTP@127.0.0.1 is no principal).
 * We do not canonicalise it; MIT's library may, per krb5.conf
 * (dns_canonicalize_hostname, rdns), which the docs advise turning off.
 * ac_spn overrides the target: "HTTP@host" (a host-based service) or a
 * Kerberos principal "HTTP/host[@REALM]", for a parent reached by a CNAME
 * or an address.
 *
 * Credentials: with ac_keytab and ac_principal, initiator credentials come
 * from that client keytab into a private in-memory ticket cache of this
 * process (MEMORY:wsus-shim/<principal>), so no ticket cache is written to
 * disk. The library fetches a TGT from the keytab when the cache has none,
 * or when it has expired or passed its refresh time; so tickets "renew"
 * by being acquired again, with no renewable tickets and no kinit cron.
 * Otherwise the default ticket cache (KRB5CCNAME) is used, as kinit or
 * k5start leaves it. ac_user and ac_password are not used here.
 *
 * The calls block: the first context toward a parent asks the KDC for a
 * service ticket (and, from a keytab, for a TGT), within the KDC timeouts
 * of krb5.conf. Later contexts find the ticket in the cache.
 *
 * Pure apart from that: no sockets of our own, no log; errors are the
 * GSSAPI major and minor status texts, never a token.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "strparse.h"
#include "strutil.h"

/* 1.3.6.1.5.5.2 and 1.2.840.113554.1.2.2 */
static gss_OID_desc gss_spnego_oid = {6, "\x2b\x06\x01\x05\x05\x02"};
static gss_OID_desc gss_krb5_oid = {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};
static gss_OID_set_desc gss_spnego_set = {1, &gss_spnego_oid};
static gss_OID_set_desc gss_krb5_set = {1, &gss_krb5_oid};

struct gss_state {
    gss_ctx_id_t gs_ctx;
    gss_name_t gs_target;
    gss_cred_id_t gs_cred;
    int gs_done; /* the context is established */
};

/* Append the texts of one status code of type kind to err at *used. */
static void
gss_status_text(char *err, size_t errlen, size_t *used, OM_uint32 code,
                int kind)
{
    OM_uint32 min, more = 0;
    gss_buffer_desc msg;
    int n = 0;

    do {
        msg.length = 0;
        msg.value = NULL;
        if (GSS_ERROR(gss_display_status(&min, code, kind, GSS_C_NO_OID, &more,
                                         &msg)))
            break;
        if (*used < errlen && msg.length > 0) {
            errfmt(err + *used, errlen - *used, "%s%.*s", n++ > 0 ? "; " : ": ",
                   (int)msg.length, (const char *)msg.value);
            *used += strlen(err + *used);
        }
        gss_release_buffer(&min, &msg);
    } while (more != 0 && n < 8);
}

/* err = "what: <major text>: <minor text>". */
static void
gss_fail(char *err, size_t errlen, const char *what, OM_uint32 maj,
         OM_uint32 min)
{
    size_t used;

    if (err == NULL || errlen == 0)
        return;
    errfmt(err, errlen, "Negotiate: %s", what);
    used = strlen(err);
    gss_status_text(err, errlen, &used, maj, GSS_C_GSS_CODE);
    if (min != 0)
        gss_status_text(err, errlen, &used, min, GSS_C_MECH_CODE);
}

/* Does the default ticket cache hold a ticket that has not expired? Reads
 * the cache only; never asks a KDC. */
static int
gss_ccache_has_ticket(void)
{
    krb5_context kc = NULL;
    krb5_ccache cc = NULL;
    krb5_cc_cursor cur = NULL;
    krb5_creds cr;
    krb5_timestamp now = (krb5_timestamp)time(NULL);
    int found = 0, n = 0;

    if (krb5_init_context(&kc) != 0)
        return 0;
    if (krb5_cc_default(kc, &cc) != 0 ||
        krb5_cc_start_seq_get(kc, cc, &cur) != 0)
        goto done;
    /* A cache holds a handful of tickets; bound the walk anyway. */
    while (!found && n++ < 256 && krb5_cc_next_cred(kc, cc, &cur, &cr) == 0) {
        if (!krb5_is_config_principal(kc, cr.server) &&
            (int64_t)(uint32_t)cr.times.endtime > (int64_t)(uint32_t)now)
            found = 1;
        krb5_free_cred_contents(kc, &cr);
    }
    krb5_cc_end_seq_get(kc, cc, &cur);
done:
    if (cc != NULL)
        krb5_cc_close(kc, cc);
    krb5_free_context(kc);
    return found;
}

/* Usable with a readable client keytab and its principal, or with a
 * ticket cache holding a live ticket. Cheap: a file check or a read of
 * the cache, no KDC. */
static int
nego_usable(const struct auth_cred *c)
{
    if (c->ac_keytab != NULL && c->ac_principal != NULL) {
        const char *path = c->ac_keytab;
        if (str_iprefix(path, "FILE:"))
            path += 5;
        return access(path, R_OK) == 0;
    }
    return gss_ccache_has_ticket();
}

/* Is host an IP address (with or without brackets)? */
static int
gss_host_is_ip(const char *host)
{
    unsigned char buf[16];
    char tmp[64];
    size_t n = strlen(host);

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(tmp)) {
        memcpy(tmp, host + 1, n - 2);
        tmp[n - 2] = '\0';
        host = tmp;
    }
    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

/* Import name (length n) of type t into *out. */
static int
gss_import(const char *name, gss_OID t, gss_name_t *out, const char *what,
           char *err, size_t errlen)
{
    OM_uint32 maj, min;
    gss_buffer_desc b;

    b.value = (void *)(uintptr_t)name;
    b.length = strlen(name);
    maj = gss_import_name(&min, &b, t, out);
    if (GSS_ERROR(maj)) {
        char w[300];
        errfmt(w, sizeof(w), "gss_import_name(%s)", what);
        gss_fail(err, errlen, w, maj, min);
        return -1;
    }
    return 0;
}

/* The target name: ac_spn, else HTTP@host. */
static int
gss_target(struct gss_state *g, const struct auth_cred *c, const char *host,
           char *err, size_t errlen)
{
    char *spn = NULL;
    size_t n;
    int rc;

    if (c->ac_spn != NULL && c->ac_spn[0] != '\0') {
        /* "HTTP/host[@REALM]" is a principal; "HTTP@host" a service. */
        gss_OID t = strchr(c->ac_spn, '/') != NULL
                        ? (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME
                        : GSS_C_NT_HOSTBASED_SERVICE;
        return gss_import(c->ac_spn, t, &g->gs_target, c->ac_spn, err, errlen);
    }
    if (host == NULL || host[0] == '\0') {
        errfmt(err, errlen, "Negotiate: no parent host name for the SPN");
        return -1;
    }
    if (gss_host_is_ip(host)) {
        errfmt(err, errlen,
               "Negotiate: the parent '%s' is an address; Kerberos needs its "
               "name: configure the parent by name or set spn",
               host);
        return -1;
    }
    n = strlen(host);
    if ((spn = malloc(5 + n + 1)) == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    memcpy(spn, "HTTP@", 5);
    memcpy(spn + 5, host, n + 1);
    rc = gss_import(spn, GSS_C_NT_HOSTBASED_SERVICE, &g->gs_target, spn, err,
                    errlen);
    free(spn);
    return rc;
}

/* Initiator credentials: from the client keytab into a private memory
 * cache, or from the default ticket cache. First for Kerberos alone, so a
 * missing ticket is reported in Kerberos' words; then for SPNEGO,
 * restricted to Kerberos. */
static int
gss_creds(struct gss_state *g, const struct auth_cred *c, char *err,
          size_t errlen)
{
    gss_key_value_element_desc kv[2];
    gss_key_value_set_desc store = {0, kv};
    gss_name_t me = GSS_C_NO_NAME;
    gss_cred_id_t probe = GSS_C_NO_CREDENTIAL;
    char *ccname = NULL;
    OM_uint32 maj, min;
    int rc = -1;

    if (c->ac_keytab != NULL && c->ac_principal != NULL) {
        size_t n = strlen(c->ac_principal);
        const char *path = c->ac_keytab;
        if (str_iprefix(path, "FILE:"))
            path += 5;
        /* GSSAPI would only say "No credentials cache found". */
        if (access(path, R_OK) == -1) {
            errfmt(err, errlen, "Negotiate: keytab %s: %s", c->ac_keytab,
                   strerror(errno));
            goto done;
        }
        if ((ccname = malloc(17 + n + 1)) == NULL) {
            errfmt(err, errlen, "out of memory");
            goto done;
        }
        memcpy(ccname, "MEMORY:wsus-shim/", 17);
        memcpy(ccname + 17, c->ac_principal, n + 1);
        kv[0].key = "client_keytab";
        kv[0].value = c->ac_keytab;
        kv[1].key = "ccache";
        kv[1].value = ccname;
        store.count = 2;
        if (gss_import(c->ac_principal, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME,
                       &me, c->ac_principal, err, errlen) == -1)
            goto done;
    }
    maj = gss_acquire_cred_from(
        &min, me, GSS_C_INDEFINITE, &gss_krb5_set, GSS_C_INITIATE,
        store.count > 0 ? &store : GSS_C_NO_CRED_STORE, &probe, NULL, NULL);
    if (GSS_ERROR(maj)) {
        gss_fail(err, errlen,
                 store.count > 0 ? "no credentials from the keytab"
                                 : "no Kerberos ticket",
                 maj, min);
        goto done;
    }
    maj = gss_acquire_cred_from(&min, me, GSS_C_INDEFINITE, &gss_spnego_set,
                                GSS_C_INITIATE,
                                store.count > 0 ? &store : GSS_C_NO_CRED_STORE,
                                &g->gs_cred, NULL, NULL);
    if (GSS_ERROR(maj)) {
        gss_fail(err, errlen, "gss_acquire_cred(SPNEGO)", maj, min);
        goto done;
    }
    maj = gss_set_neg_mechs(&min, g->gs_cred, &gss_krb5_set);
    if (GSS_ERROR(maj)) {
        gss_fail(err, errlen, "gss_set_neg_mechs", maj, min);
        goto done;
    }
    rc = 0;
done:
    if (probe != GSS_C_NO_CREDENTIAL)
        gss_release_cred(&min, &probe);
    if (me != GSS_C_NO_NAME)
        gss_release_name(&min, &me);
    free(ccname);
    return rc;
}

static void
nego_free(void *st)
{
    struct gss_state *g = st;
    OM_uint32 min;

    if (g == NULL)
        return;
    if (g->gs_ctx != GSS_C_NO_CONTEXT)
        gss_delete_sec_context(&min, &g->gs_ctx, GSS_C_NO_BUFFER);
    if (g->gs_target != GSS_C_NO_NAME)
        gss_release_name(&min, &g->gs_target);
    if (g->gs_cred != GSS_C_NO_CREDENTIAL)
        gss_release_cred(&min, &g->gs_cred);
    free(g);
}

static void *
nego_new(const struct auth_cred *c, const char *host, char *err, size_t errlen)
{
    struct gss_state *g;

    if ((g = calloc(1, sizeof(*g))) == NULL) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    g->gs_ctx = GSS_C_NO_CONTEXT;
    g->gs_target = GSS_C_NO_NAME;
    g->gs_cred = GSS_C_NO_CREDENTIAL;
    if (gss_target(g, c, host, err, errlen) == -1 ||
        gss_creds(g, c, err, errlen) == -1) {
        nego_free(g);
        return NULL;
    }
    return g;
}

/* One call of gss_init_sec_context. *last is 1 when it returned
 * GSS_S_COMPLETE. With SPNEGO and no mutual authentication, MIT's
 * initiator still answers CONTINUE_NEEDED after its first token (it waits
 * for the acceptor's verdict), so a parent that accepts simply answers;
 * a token it sends back is fed to the next step. */
static int
nego_step(void *st, const unsigned char *in, size_t inlen, unsigned char **out,
          size_t *outlen, int *last, char *err, size_t errlen)
{
    struct gss_state *g = st;
    gss_buffer_desc itok, otok = GSS_C_EMPTY_BUFFER;
    OM_uint32 maj, min, ret_flags = 0;
    int rc = -1;

    *out = NULL;
    *outlen = 0;
    *last = 0;
    if (g->gs_done) {
        errfmt(err, errlen, "Negotiate: the context is already established");
        return -1;
    }
    if (inlen == 0 && g->gs_ctx != GSS_C_NO_CONTEXT) {
        errfmt(err, errlen, "Negotiate: the parent sent no token");
        return -1;
    }
    itok.value = (void *)(uintptr_t)in;
    itok.length = inlen;
    maj = gss_init_sec_context(
        &min, g->gs_cred, &g->gs_ctx, g->gs_target, &gss_spnego_oid,
        GSS_C_REPLAY_FLAG, 0, GSS_C_NO_CHANNEL_BINDINGS,
        inlen > 0 ? &itok : GSS_C_NO_BUFFER, NULL, &otok, &ret_flags, NULL);
    if (GSS_ERROR(maj)) {
        gss_fail(err, errlen, "gss_init_sec_context", maj, min);
        goto done;
    }
    if (otok.length == 0) {
        /* Complete with nothing more to say: there is no next message. */
        errfmt(err, errlen,
               "Negotiate: the context completed with no "
               "token to send");
        goto done;
    }
    if ((*out = malloc(otok.length)) == NULL) {
        errfmt(err, errlen, "out of memory");
        goto done;
    }
    memcpy(*out, otok.value, otok.length);
    *outlen = otok.length;
    if (maj == GSS_S_COMPLETE) {
        g->gs_done = 1;
        *last = 1;
    }
    rc = 0;
done:
    if (otok.value != NULL) {
        OPENSSL_cleanse(otok.value, otok.length);
        gss_release_buffer(&min, &otok);
    }
    return rc;
}

const struct auth_mech auth_mech_negotiate = {
    AUTH_NEGOTIATE, "Negotiate", nego_usable, nego_new, nego_step, nego_free,
};

/* No logon of the process to authenticate as: NTLM needs a user. */
const struct auth_mech *const auth_mech_ntlm_logon = NULL;
