/*
 * probe_print.c - how `wsus-shim probe` shows one parent: the human
 * report (a line per check, the BITS error it would cause, the conf line
 * the repair needs, the verdict) and the JSON object of docs/probe.md.
 * Prints only what probe_eval() concluded: findings carry scheme names
 * and statuses, never a header value, so no credential can reach output.
 */
#include <stdio.h>
#include <string.h>

#include "probe_print.h"

static const char *
auth_res_name(enum probe_auth_res r)
{
    static const char *const n[] = {"untried", "not usable", "passed",
                                    "refused", "failed"};
    return r <= PAR_FAILED ? n[r] : "?";
}

static const char *
verdict_text(enum probe_verdict v)
{
    static const char *const n[] = {
        "WORKS through the shim with this conf",
        "WORKS through the shim once the conf lines above are set",
        "FAILS: the shim cannot make this parent work",
    };
    return v <= PV_FAILS ? n[v] : "?";
}

/* Was f[i]'s missing conf line already listed by an earlier finding? */
static int
conf_listed(const struct probe_finding *f, int i)
{
    for (int j = 0; j < i; j++)
        if (!f[j].pf_conf_set && strcmp(f[j].pf_conf, f[i].pf_conf) == 0)
            return 1;
    return 0;
}

void
probe_print_human(FILE *out, const struct probe_report *r)
{
    const struct probe_obs *o = r->rp_obs;
    const struct probe_finding *f = r->rp_f;
    const char *addr = r->rp_addr;

    if (strcmp(addr, r->rp_label) == 0)
        addr = "";
    if (r->rp_idx < 0)
        fprintf(out, "\ndirect (no parent configured): %s%s%s%s\n", r->rp_label,
                addr[0] ? " (" : "", addr, addr[0] ? ")" : "");
    else
        fprintf(out, "\nparent %d of %u: %s%s%s%s\n", r->rp_idx + 1,
                (unsigned)r->rp_n, r->rp_label, addr[0] ? " (" : "", addr,
                addr[0] ? ")" : "");
    for (int i = 0; i < PC_NCHECKS; i++) {
        fprintf(out, "  %-13s %-9s %s\n", probe_check_name(f[i].pf_check),
                probe_level_name(f[i].pf_level), f[i].pf_text);
        if (f[i].pf_bits[0] != '\0')
            fprintf(out, "  %-23s BITS without the shim: %s\n", "",
                    f[i].pf_bits);
        if (f[i].pf_conf[0] != '\0')
            fprintf(out, "  %-23s conf: %s (%s)\n", "", f[i].pf_conf,
                    f[i].pf_conf_set ? "set" : "needed");
        if (f[i].pf_check == PC_AUTH)
            for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++) {
                if (o->po_auth[s] == PAR_UNTRIED)
                    continue;
                fprintf(out, "  %-23s %s: %s%s%s\n", "",
                        auth_scheme_name((enum auth_scheme)s),
                        auth_res_name(o->po_auth[s]),
                        o->po_auth[s] == PAR_FAILED ? " - " : "",
                        o->po_auth[s] == PAR_FAILED ? o->po_auth_err[s] : "");
            }
    }
    for (int i = 0; i < PC_NCHECKS; i++)
        if (!f[i].pf_conf_set && f[i].pf_conf[0] != '\0' && !conf_listed(f, i))
            fprintf(out, "  %-13s %s\n", "conf change", f[i].pf_conf);
    fprintf(out, "  %-13s %s\n", "verdict", verdict_text(r->rp_v));
}

void
probe_json_str(FILE *out, const char *s)
{
    if (s == NULL)
        s = "";
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void
json_str_or_null(FILE *out, const char *s)
{
    if (s == NULL || s[0] == '\0')
        fputs("null", out);
    else
        probe_json_str(out, s);
}

static void
json_schemes(FILE *out, unsigned mask)
{
    int first = 1;

    fputc('[', out);
    for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++) {
        if (!(mask & AUTH_BIT(s)))
            continue;
        fputs(first ? "" : ", ", out);
        probe_json_str(out, auth_scheme_name((enum auth_scheme)s));
        first = 0;
    }
    fputc(']', out);
}

void
probe_print_json(FILE *out, const struct probe_report *r, int last)
{
    const struct probe_obs *o = r->rp_obs;
    const struct probe_finding *f = r->rp_f;
    int first = 1;

    fputs("    {\n      \"parent\": ", out);
    json_str_or_null(out, r->rp_idx < 0 ? NULL : r->rp_label);
    fprintf(out, ",\n      \"direct\": %s,\n      \"target\": ",
            r->rp_idx < 0 ? "true" : "false");
    probe_json_str(out, r->rp_label);
    fputs(",\n      \"address\": ", out);
    json_str_or_null(out, r->rp_addr);
    if (o->po_connected)
        fprintf(out, ",\n      \"connect_ms\": %u", (unsigned)o->po_connect_ms);
    else
        fputs(",\n      \"connect_ms\": null", out);
    fputs(",\n      \"verdict\": ", out);
    probe_json_str(out, probe_verdict_name(r->rp_v));
    fputs(",\n      \"findings\": [\n", out);
    for (int i = 0; i < PC_NCHECKS; i++) {
        fputs("        {\"check\": ", out);
        probe_json_str(out, probe_check_name(f[i].pf_check));
        fputs(", \"level\": ", out);
        probe_json_str(out, probe_level_name(f[i].pf_level));
        fputs(", \"text\": ", out);
        probe_json_str(out, f[i].pf_text);
        fputs(", \"bits_error\": ", out);
        json_str_or_null(out, f[i].pf_bits);
        fprintf(out, ", \"repaired\": %s, \"conf\": ",
                f[i].pf_level == PL_REPAIRED ? "true" : "false");
        json_str_or_null(out, f[i].pf_conf);
        fprintf(out, ", \"conf_set\": %s}%s\n",
                f[i].pf_conf_set ? "true" : "false",
                i + 1 < PC_NCHECKS ? "," : "");
    }
    fprintf(out, "      ],\n      \"auth\": {\"asked\": %s, \"offered\": ",
            o->po_first.pa_status == 407 ? "true" : "false");
    json_schemes(out, o->po_offered);
    fputs(", \"usable\": ", out);
    json_schemes(out, o->po_usable);
    fputs(", \"results\": {", out);
    for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++) {
        if (o->po_auth[s] == PAR_UNTRIED)
            continue;
        fputs(first ? "" : ", ", out);
        probe_json_str(out, auth_scheme_name((enum auth_scheme)s));
        fputs(": ", out);
        probe_json_str(out, auth_res_name(o->po_auth[s]));
        first = 0;
    }
    fputs("}, \"scheme\": ", out);
    enum auth_scheme pick = probe_auth_pick(o, r->rp_pc);
    json_str_or_null(out, pick == AUTH_NONE ? NULL : auth_scheme_name(pick));
    fputs("},\n      \"conf_changes\": [", out);
    first = 1;
    for (int i = 0; i < PC_NCHECKS; i++) {
        if (f[i].pf_conf_set || f[i].pf_conf[0] == '\0' || conf_listed(f, i))
            continue;
        fputs(first ? "" : ", ", out);
        probe_json_str(out, f[i].pf_conf);
        first = 0;
    }
    fprintf(out, "]\n    }%s\n", last ? "" : ",");
}
