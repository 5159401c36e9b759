/*
 * probe.h - the `wsus-shim probe` command (docs/probe.md).
 */
#ifndef WSUS_PROBE_H
#define WSUS_PROBE_H

/* Run `wsus-shim probe ...`: argv[0] is "probe". default_conf is the conf
 * to load when no -c is given. Prints to stdout (errors to stderr) and
 * returns the exit code: 0 when every parent works through the shim with
 * this conf, 1 when one does not (unreachable, credentials refused, no
 * usable scheme, CONNECT refused, or conf lines missing), 2 on usage or
 * conf errors. */
int probe_main(int argc, char **argv, const char *default_conf);

#endif
