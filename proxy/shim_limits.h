/*
 * shim_limits.h - every fixed bound of wsus-shim in one place. Values an
 * administrator may want to change are conf keys (see config.h); their
 * defaults live here too.
 */
#ifndef WSUS_SHIM_LIMITS_H
#define WSUS_SHIM_LIMITS_H

/* Defaults of [limits] keys. */
#define DEF_MAX_HEADER_BYTES (32u * 1024) /* whole request head */
#define DEF_MAX_HEADERS 100u
#define DEF_MAX_URI 8192u
#define DEF_MAX_BODY (16u * 1024 * 1024)
#define DEF_BODY_MEMORY (64u * 1024) /* spool to disk above */
#define DEF_HEADER_TIMEOUT_MS 30000u
#define DEF_IDLE_TIMEOUT_MS 60000u
#define DEF_CONNECT_TIMEOUT_MS 10000u
#define DEF_FIRST_BYTE_MS 60000u
#define DEF_BODY_TIMEOUT_MS 120000u
#define DEF_DRAIN_TIMEOUT_MS 30000u
#define DEF_HOLD_DOWN_MS 30000u
#define DEF_MAX_CONNECTIONS 1024u
#define DEF_UP_IDLE_MS 30000u /* [upstream] idle_timeout */
#define DEF_UP_MAX_IDLE 64u   /* [upstream] max_idle */
/* [log] rotate_size: the smallest size a log file is rotated at. */
#define LOG_ROTATE_MIN (16u * 1024)

/* Upstream response head, which we do not let an administrator raise. */
#define MAX_RESP_HEADER_BYTES (64u * 1024)
#define MAX_RESP_HEADERS 200u

/* Chunked bodies, requests and responses alike: the bytes of one chunk
 * extension (after the ';', which we ignore), and of the trailer section
 * (which we drop; the head limit applies too when it is smaller). */
#define MAX_CHUNK_EXT 4096u
#define MAX_TRAILER_BYTES 8192u

/* A spooled request body is written to its file in pieces of this size
 * (the last one smaller), however small the pieces it arrives in. */
#define SPOOL_WRITE_CHUNK (64u * 1024)

/* Backpressure: stop reading a source when its sink holds this much, resume
 * when it drained below the low mark. Applies on top of libevent's
 * watermarks (an OpenSSL bufferevent may overrun those). */
#define RELAY_HIGH_MARK (256u * 1024)
#define RELAY_LOW_MARK (64u * 1024)

/* Largest single read or write on a relayed socket. */
#define RELAY_IO_CHUNK (256u * 1024)

/* Out of descriptors, accepting pauses for ACCEPT_PAUSE_MIN_MS, doubling
 * up to ACCEPT_PAUSE_MAX_MS while it lasts. A flood of one warning
 * (accept errors, refused clients) logs at most one line per
 * LOG_FLOOD_MS, with the count held back. */
#define ACCEPT_PAUSE_MIN_MS 100u
#define ACCEPT_PAUSE_MAX_MS 1000u
#define LOG_FLOOD_MS 1000u
/* Client connections accepted while out of descriptors, each answered
 * 503 through the spare descriptor, per accept error. */
#define ACCEPT_SHED_MAX 64u
/* Descriptors a client connection may need (its socket, a parent's, a
 * cache or spool file), and those the process needs besides. */
#define FDS_PER_CONN 3u
#define FDS_FIXED 64u

/* Request id length (hex digits). */
#define REQID_LEN 12

#endif
