/*
 * auth_sspi.c - Negotiate (RFC 4559) through SSPI, on Windows, and NTLM
 * as the process's own logon.
 *
 * The "Negotiate" security package (Kerberos, or NTLM when Kerberos
 * cannot be had), or "NTLM" on a system without Negotiate; the wire
 * scheme stays "Negotiate" either way. Credentials:
 *   - no user configured: the process's own logon (the service account,
 *     for a domain member the machine account). Nothing is stored.
 *   - user and password: explicit SEC_WINNT_AUTH_IDENTITY_W credentials;
 *     "DOMAIN\user" and "user@REALM" are both split into user and domain
 *     (Windows would take a whole UPN as the user; Wine's Kerberos
 *     package only takes the split form).
 *     The UTF-16 copy of the password is wiped once SSPI has it.
 *   - user alone (config allows it for auth = negotiate): as with no user;
 *     the name only labels the account in messages.
 *   - user with only password_hash: not usable (SSPI needs the password;
 *     the built-in NTLM mechanism takes the hash).
 * The target is "HTTP/<parent host>" (SSPI's SPN form), the parent's name
 * as configured; ac_spn overrides it ("HTTP@host" is rewritten to
 * "HTTP/host"). An address is refused: no SPN names an address.
 *
 * Each session is a fresh security context (the parent keeps a replay
 * cache). Errors are FormatMessage texts of the SECURITY_STATUS, never a
 * token. Like GSSAPI, the first context toward a parent may block on a
 * KDC exchange inside InitializeSecurityContextW.
 *
 * NTLM as the process's own logon (auth_mech_ntlm_logon): with no user
 * configured, the NTLM scheme runs on SSPI's "NTLM" package with no
 * identity, so the service's account answers the parent's challenge and
 * the conf holds no secret. With a user, auth_ntlm.c's own NTLMv2 runs.
 */
#define SECURITY_WIN32
#include <windows.h>
#include <security.h>
#include <sspi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "strparse.h"

struct sspi_state {
    CredHandle ss_cred;
    CtxtHandle ss_ctx;
    int ss_have_cred;
    int ss_have_ctx;
    int ss_done;
    wchar_t *ss_target;
    const char *ss_scheme; /* the wire scheme, for messages */
    const char *ss_pkg;    /* "Negotiate" or "NTLM", for messages */
    unsigned long ss_max;  /* the package's largest token */
};

/* The statuses met most, named, for systems whose FormatMessage has no
 * text for them (Wine has none). */
static const struct {
    SECURITY_STATUS sn_status;
    const char *sn_name;
} sspi_names[] = {
    {SEC_E_NO_CREDENTIALS, "SEC_E_NO_CREDENTIALS: no credentials are "
                           "available in the security package"},
    {SEC_E_TARGET_UNKNOWN, "SEC_E_TARGET_UNKNOWN: the target is unknown"},
    {SEC_E_WRONG_PRINCIPAL, "SEC_E_WRONG_PRINCIPAL: the target principal "
                            "name is incorrect"},
    {SEC_E_INTERNAL_ERROR, "SEC_E_INTERNAL_ERROR"},
    {SEC_E_LOGON_DENIED, "SEC_E_LOGON_DENIED: the logon attempt failed"},
    {SEC_E_NO_AUTHENTICATING_AUTHORITY,
     "SEC_E_NO_AUTHENTICATING_AUTHORITY: no authority could be contacted"},
    {SEC_E_SECPKG_NOT_FOUND, "SEC_E_SECPKG_NOT_FOUND"},
    {SEC_E_INVALID_TOKEN, "SEC_E_INVALID_TOKEN: the token is invalid"},
    {SEC_E_INCOMPLETE_MESSAGE, "SEC_E_INCOMPLETE_MESSAGE"},
};

/* err = "SCHEME: what: <system text> (0xSTATUS)". */
static void
sspi_fail(const struct sspi_state *s, char *err, size_t errlen,
          const char *what, SECURITY_STATUS st)
{
    const char *text = "unknown security status";
    char msg[256];
    DWORD n;

    n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
                           FORMAT_MESSAGE_IGNORE_INSERTS,
                       NULL, (DWORD)st, 0, msg, sizeof(msg), NULL);
    while (n > 0 && (msg[n - 1] == '\r' || msg[n - 1] == '\n' ||
                     msg[n - 1] == ' ' || msg[n - 1] == '.'))
        n--;
    msg[n] = '\0';
    if (n > 0) {
        text = msg;
    } else {
        for (size_t i = 0; i < sizeof(sspi_names) / sizeof(sspi_names[0]); i++)
            if (sspi_names[i].sn_status == st)
                text = sspi_names[i].sn_name;
    }
    errfmt(err, errlen, "%s: %s: %s (0x%08lx)", s->ss_scheme, what, text,
           (unsigned long)st);
}

/* UTF-8 s (n bytes) as a malloc'ed UTF-16 string; NULL on error. *wn: its
 * length in wchar_t, without the terminator. */
static wchar_t *
sspi_wide(const char *s, size_t n, unsigned long *wn)
{
    wchar_t *w;
    int len;

    if (n == 0) {
        if ((w = calloc(1, sizeof(*w))) != NULL && wn != NULL)
            *wn = 0;
        return w;
    }
    if (n > 0x7fffffff ||
        (len = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n,
                                   NULL, 0)) <= 0)
        return NULL;
    if ((w = calloc((size_t)len + 1, sizeof(*w))) == NULL)
        return NULL;
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, w, len);
    if (wn != NULL)
        *wn = (unsigned long)len;
    return w;
}

static void
sspi_wipe_free(wchar_t *w, unsigned long n)
{
    if (w == NULL)
        return;
    SecureZeroMemory(w, (size_t)n * sizeof(*w));
    free(w);
}

static int
nego_usable(const struct auth_cred *c)
{
    /* A user with only an NT hash: SSPI cannot use it. */
    return c->ac_user == NULL || c->ac_password != NULL ||
           c->ac_nt_hash == NULL;
}

/* Is host an address: dotted digits, or anything with a ':' (IPv6)? */
static int
sspi_host_is_ip(const char *host)
{
    if (strchr(host, ':') != NULL)
        return 1;
    return strspn(host, "0123456789.") == strlen(host);
}

/* The SPN: ac_spn ("HTTP@h" becomes "HTTP/h"), else "HTTP/host". */
static int
sspi_target(struct sspi_state *s, const struct auth_cred *c, const char *host,
            char *err, size_t errlen)
{
    char buf[512];

    if (c->ac_spn != NULL && c->ac_spn[0] != '\0') {
        const char *at = strchr(c->ac_spn, '@');
        if (strchr(c->ac_spn, '/') == NULL && at != NULL)
            snprintf(buf, sizeof(buf), "%.*s/%s", (int)(at - c->ac_spn),
                     c->ac_spn, at + 1);
        else
            snprintf(buf, sizeof(buf), "%s", c->ac_spn);
    } else {
        if (host == NULL || host[0] == '\0') {
            errfmt(err, errlen, "Negotiate: no parent host name for the SPN");
            return -1;
        }
        if (sspi_host_is_ip(host)) {
            errfmt(err, errlen,
                   "Negotiate: the parent '%s' is an address; Kerberos needs "
                   "its name: configure the parent by name or set spn",
                   host);
            return -1;
        }
        snprintf(buf, sizeof(buf), "HTTP/%s", host);
    }
    if ((s->ss_target = sspi_wide(buf, strlen(buf), NULL)) == NULL) {
        errfmt(err, errlen, "Negotiate: the SPN is not valid UTF-8");
        return -1;
    }
    return 0;
}

/* Credentials for package pkg: the process's logon, or id. */
static SECURITY_STATUS
sspi_acquire(struct sspi_state *s, const wchar_t *pkg,
             SEC_WINNT_AUTH_IDENTITY_W *id)
{
    TimeStamp expiry;

    return AcquireCredentialsHandleW(NULL, (wchar_t *)(uintptr_t)pkg,
                                     SECPKG_CRED_OUTBOUND, NULL, id, NULL, NULL,
                                     &s->ss_cred, &expiry);
}

/* Credentials of package pkg ("Negotiate", which falls back to "NTLM"
 * on a system without it; or "NTLM") for id, or the process's own logon
 * when id is NULL (user: the account's name for messages), and the size
 * of the package's largest token. 0, or -1 with err set. */
static int
sspi_package(struct sspi_state *s, const char *pkg,
             SEC_WINNT_AUTH_IDENTITY_W *id, const char *user, char *err,
             size_t errlen)
{
    PSecPkgInfoW info = NULL;
    SECURITY_STATUS st;
    int ntlm = strcmp(pkg, "NTLM") == 0;

    s->ss_pkg = ntlm ? "NTLM" : "Negotiate";
    st = sspi_acquire(s, ntlm ? L"NTLM" : L"Negotiate", id);
    if (st == SEC_E_SECPKG_NOT_FOUND && !ntlm) {
        ntlm = 1;
        s->ss_pkg = "NTLM";
        st = sspi_acquire(s, L"NTLM", id);
    }
    if (st != SEC_E_OK) {
        char what[128];
        errfmt(what, sizeof(what), "AcquireCredentialsHandle(%s%s%s)",
               s->ss_pkg, id != NULL ? ", user " : ", own logon",
               id != NULL ? user : "");
        sspi_fail(s, err, errlen, what, st);
        return -1;
    }
    s->ss_have_cred = 1;
    /* The output buffer is ours, sized by the package: Wine ignores
     * ISC_REQ_ALLOCATE_MEMORY (SEC_E_INCOMPLETE_MESSAGE). */
    st = QuerySecurityPackageInfoW(ntlm ? L"NTLM" : L"Negotiate", &info);
    if (st != SEC_E_OK) {
        sspi_fail(s, err, errlen, "QuerySecurityPackageInfo", st);
        return -1;
    }
    s->ss_max = info->cbMaxToken;
    FreeContextBuffer(info);
    if (s->ss_max == 0 || s->ss_max > 1024u * 1024) {
        errfmt(err, errlen, "%s: the package's token size %lu is not plausible",
               s->ss_scheme, s->ss_max);
        return -1;
    }
    return 0;
}

static int
sspi_creds(struct sspi_state *s, const struct auth_cred *c, char *err,
           size_t errlen)
{
    SEC_WINNT_AUTH_IDENTITY_W id, *idp = NULL;
    wchar_t *wuser = NULL, *wdom = NULL, *wpass = NULL;
    unsigned long nuser = 0, ndom = 0, npass = 0;
    int rc = -1;

    memset(&id, 0, sizeof(id));
    if (c->ac_user != NULL && c->ac_password != NULL) {
        const char *bs = strchr(c->ac_user, '\\');
        const char *at = strrchr(c->ac_user, '@');
        if (bs != NULL) {
            wdom = sspi_wide(c->ac_user, (size_t)(bs - c->ac_user), &ndom);
            wuser = sspi_wide(bs + 1, strlen(bs + 1), &nuser);
        } else if (at != NULL && at != c->ac_user && at[1] != '\0') {
            wuser = sspi_wide(c->ac_user, (size_t)(at - c->ac_user), &nuser);
            wdom = sspi_wide(at + 1, strlen(at + 1), &ndom);
        } else {
            wuser = sspi_wide(c->ac_user, strlen(c->ac_user), &nuser);
            at = NULL;
        }
        wpass = sspi_wide(c->ac_password, strlen(c->ac_password), &npass);
        if (wuser == NULL || wpass == NULL ||
            ((bs != NULL || at != NULL) && wdom == NULL)) {
            errfmt(err, errlen,
                   "Negotiate: user or password is not valid "
                   "UTF-8");
            goto done;
        }
        id.User = (unsigned short *)wuser;
        id.UserLength = nuser;
        id.Domain = (unsigned short *)wdom;
        id.DomainLength = ndom;
        id.Password = (unsigned short *)wpass;
        id.PasswordLength = npass;
        id.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
        idp = &id;
    }
    rc = sspi_package(s, "Negotiate", idp, c->ac_user, err, errlen);
done:
    sspi_wipe_free(wpass, npass);
    free(wuser);
    free(wdom);
    return rc;
}

static void
nego_free(void *st)
{
    struct sspi_state *s = st;

    if (s == NULL)
        return;
    if (s->ss_have_ctx)
        DeleteSecurityContext(&s->ss_ctx);
    if (s->ss_have_cred)
        FreeCredentialsHandle(&s->ss_cred);
    free(s->ss_target);
    free(s);
}

static void *
nego_new(const struct auth_cred *c, const char *host, char *err, size_t errlen)
{
    struct sspi_state *s;

    if (!nego_usable(c)) {
        errfmt(err, errlen,
               "Negotiate: SSPI needs the password of '%s', "
               "not its hash",
               c->ac_user);
        return NULL;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    s->ss_scheme = "Negotiate";
    if (sspi_target(s, c, host, err, errlen) == -1 ||
        sspi_creds(s, c, err, errlen) == -1) {
        nego_free(s);
        return NULL;
    }
    return s;
}

/* One InitializeSecurityContext call with the parent's token in (none on
 * the first leg) into odesc, completing the token when the package asks.
 * Returns SEC_E_OK (the context is established) or SEC_I_CONTINUE_NEEDED;
 * any other status has set err. */
static SECURITY_STATUS
sspi_isc(struct sspi_state *s, const unsigned char *in, size_t inlen,
         SecBufferDesc *odesc, char *err, size_t errlen)
{
    SecBuffer ib;
    SecBufferDesc idesc;
    ULONG attrs = 0;
    TimeStamp expiry;
    SECURITY_STATUS ss;

    ib.BufferType = SECBUFFER_TOKEN;
    ib.cbBuffer = (unsigned long)inlen;
    ib.pvBuffer = (void *)(uintptr_t)in;
    idesc.ulVersion = SECBUFFER_VERSION;
    idesc.cBuffers = 1;
    idesc.pBuffers = &ib;
    ss = InitializeSecurityContextW(
        &s->ss_cred, s->ss_have_ctx ? &s->ss_ctx : NULL, s->ss_target, 0, 0,
        SECURITY_NATIVE_DREP, inlen > 0 ? &idesc : NULL, 0, &s->ss_ctx, odesc,
        &attrs, &expiry);
    if (ss == SEC_I_COMPLETE_NEEDED || ss == SEC_I_COMPLETE_AND_CONTINUE) {
        SECURITY_STATUS cs = CompleteAuthToken(&s->ss_ctx, odesc);
        if (cs != SEC_E_OK) {
            s->ss_have_ctx = 1;
            sspi_fail(s, err, errlen, "CompleteAuthToken", cs);
            return cs;
        }
        ss = ss == SEC_I_COMPLETE_NEEDED ? SEC_E_OK : SEC_I_CONTINUE_NEEDED;
    }
    if (ss != SEC_E_OK && ss != SEC_I_CONTINUE_NEEDED) {
        char what[96];
        errfmt(what, sizeof(what), "InitializeSecurityContext(%s)", s->ss_pkg);
        sspi_fail(s, err, errlen, what, ss);
        return ss;
    }
    s->ss_have_ctx = 1;
    return ss;
}

/* One InitializeSecurityContextW call. *last is 1 on SEC_E_OK (after
 * CompleteAuthToken when the package asks for it). */
static int
nego_step(void *st, const unsigned char *in, size_t inlen, unsigned char **out,
          size_t *outlen, int *last, char *err, size_t errlen)
{
    struct sspi_state *s = st;
    SecBuffer ob;
    SecBufferDesc odesc;
    SECURITY_STATUS ss;
    int rc = -1;

    *out = NULL;
    *outlen = 0;
    *last = 0;
    if (s->ss_done) {
        errfmt(err, errlen, "%s: the context is already established",
               s->ss_scheme);
        return -1;
    }
    if (inlen == 0 && s->ss_have_ctx) {
        errfmt(err, errlen, "%s: the parent sent no token", s->ss_scheme);
        return -1;
    }
    if (inlen > 0xffffffffu) {
        errfmt(err, errlen, "%s: the parent's token is too long", s->ss_scheme);
        return -1;
    }
    ob.BufferType = SECBUFFER_TOKEN;
    ob.cbBuffer = s->ss_max;
    if ((ob.pvBuffer = malloc(s->ss_max)) == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    odesc.ulVersion = SECBUFFER_VERSION;
    odesc.cBuffers = 1;
    odesc.pBuffers = &ob;
    ss = sspi_isc(s, in, inlen, &odesc, err, errlen);
    if (ss != SEC_E_OK && ss != SEC_I_CONTINUE_NEEDED)
        goto done;
    if (ob.cbBuffer == 0 || ob.pvBuffer == NULL) {
        errfmt(err, errlen, "%s: the context completed with no token to send",
               s->ss_scheme);
        goto done;
    }
    if (ob.cbBuffer > s->ss_max) {
        errfmt(err, errlen, "%s: the token overran its buffer", s->ss_scheme);
        goto done;
    }
    /* Hand over our buffer; the caller wipes and frees it. */
    *out = ob.pvBuffer;
    *outlen = ob.cbBuffer;
    ob.pvBuffer = NULL;
    if (ss == SEC_E_OK) {
        s->ss_done = 1;
        *last = 1;
    }
    rc = 0;
done:
    if (ob.pvBuffer != NULL) {
        SecureZeroMemory(ob.pvBuffer, s->ss_max);
        free(ob.pvBuffer);
    }
    return rc;
}

const struct auth_mech auth_mech_negotiate = {
    AUTH_NEGOTIATE, "Negotiate", nego_usable, nego_new, nego_step, nego_free,
};

/* ---- NTLM as the process's own logon ---- */

static int
logon_usable(const struct auth_cred *c)
{
    return c->ac_user == NULL;
}

static void *
logon_new(const struct auth_cred *c, const char *host, char *err, size_t errlen)
{
    struct sspi_state *s;

    (void)host; /* NTLM names no target */
    if (!logon_usable(c)) {
        errfmt(err, errlen, "NTLM: the own logon is used only without user");
        return NULL;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    s->ss_scheme = "NTLM";
    if (sspi_package(s, "NTLM", NULL, NULL, err, errlen) == -1) {
        nego_free(s);
        return NULL;
    }
    return s;
}

static const struct auth_mech ntlm_logon = {
    AUTH_NTLM, "NTLM", logon_usable, logon_new, nego_step, nego_free,
};

const struct auth_mech *const auth_mech_ntlm_logon = &ntlm_logon;
