/* cryogen core: status codes with a thread-local message, logging, progress lines, a
 * counter-based random generator, an arena for scratch memory, atomic output files and
 * provenance strings. Every other module builds on this one; it knows nothing of cryo-EM.
 *
 * Errors: library functions return cg_status. On failure they call cg_error(), which stores a
 * message (what, which file, where) in a thread-local buffer and returns the status, so
 *     if (bad) return cg_error(CG_ERR_FORMAT, "%s: header claims %d images but the file holds %d", ...);
 * Only tools/ turns a status into an exit code; the library never calls exit().
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status ---------------- */
typedef enum {
    CG_OK = 0,
    CG_ERR_ARG,         /* bad argument or option value from the caller / user */
    CG_ERR_IO,          /* open, read, write, rename failed */
    CG_ERR_FORMAT,      /* a file is malformed or inconsistent */
    CG_ERR_UNSUPPORTED, /* valid but not supported (e.g. MRC mode 3) */
    CG_ERR_NOMEM,       /* allocation failed or a size is beyond what fits in memory */
    CG_ERR_RANGE,       /* a value outside its allowed range */
    CG_ERR_INTERNAL,    /* a broken invariant: a bug */
    CG_ERR_INTERRUPTED, /* stopped by a signal */
} cg_status;

const char *cg_status_str(cg_status s);
/* Set the thread-local message (printf-style) and return s. */
cg_status cg_error(cg_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with more context ("reading particles.star: ..."); returns s. */
cg_status cg_error_prefix(cg_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last message set on this thread ("" if none). Valid until the next cg_error on this thread. */
const char *cg_last_error(void);
void cg_clear_error(void);

/* ---------------------------------------------------------------- log ------------------- */
typedef enum { CG_LOG_DEBUG = 0, CG_LOG_INFO, CG_LOG_WARN, CG_LOG_ERROR, CG_LOG_SILENT } cg_log_level;
typedef void (*cg_log_fn)(cg_log_level level, const char *msg, void *user);
/* Messages below `level` are dropped. Default CG_LOG_INFO. Not thread-safe to change. */
void cg_log_set_level(cg_log_level level);
cg_log_level cg_log_get_level(void);
/* Replace the sink (default: "cryogen: warning: msg" on stderr). NULL restores the default. */
void cg_log_set_callback(cg_log_fn fn, void *user);
void cg_log(cg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define CG_DEBUG(...) cg_log(CG_LOG_DEBUG, __VA_ARGS__)
#define CG_INFO(...) cg_log(CG_LOG_INFO, __VA_ARGS__)
#define CG_WARN(...) cg_log(CG_LOG_WARN, __VA_ARGS__)

/* ---------------------------------------------------------------- progress -------------- */
/* A one-line progress display on stderr with count, rate and ETA, redrawn at most 4 times a
 * second. Silent when stdout is not a terminal or after cg_progress_set_quiet(1). update() may
 * be called from one thread only (call it from the master thread or after a reduction). */
typedef struct {
    const char *label;
    const char *unit; /* "images", "steps", ... */
    int64_t total, done;
    double t_start, t_last;
    int enabled;
} cg_progress;
void cg_progress_set_quiet(int quiet);
void cg_progress_begin(cg_progress *p, const char *label, const char *unit, int64_t total);
void cg_progress_update(cg_progress *p, int64_t done);
/* Final line with elapsed time and mean rate (only where the progress line is shown). */
void cg_progress_end(cg_progress *p);
/* Monotonic wall clock in seconds; process CPU time (user+sys) in seconds. */
double cg_time_s(void);
double cg_cpu_time_s(void);

/* ---------------------------------------------------------------- random ---------------- */
/* Philox4x32-10 counter-based generator. A stream is keyed by (seed, stream, index): e.g.
 * stream = CG_RNG_STREAM_NOISE, index = particle number. The numbers drawn for a particle
 * therefore depend only on (seed, stream, index), never on the thread count or schedule. */
enum {
    CG_RNG_STREAM_POSE = 1,
    CG_RNG_STREAM_SHIFT = 2,
    CG_RNG_STREAM_CTF = 3,
    CG_RNG_STREAM_NOISE = 4,
    CG_RNG_STREAM_INIT = 5,   /* network weight initialisation */
    CG_RNG_STREAM_BATCH = 6,  /* minibatch order */
    CG_RNG_STREAM_SPLIT = 7,  /* half-set assignment */
    CG_RNG_STREAM_MODEL = 8,  /* conformational parameters */
    CG_RNG_STREAM_TRAIN = 9,  /* noise / latent draws in training */
    CG_RNG_STREAM_USER = 100, /* first free stream number for modules */
};
typedef struct {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t buf[4];
    int pos;          /* next unused word of buf (4 = empty) */
    int have_normal;  /* Box-Muller spare */
    double spare;
} cg_rng;
void cg_rng_init(cg_rng *r, uint64_t seed, uint64_t stream, uint64_t index);
uint32_t cg_rng_u32(cg_rng *r);
uint64_t cg_rng_u64(cg_rng *r);
double cg_rng_uniform(cg_rng *r);           /* [0, 1), 53 random bits */
double cg_rng_normal(cg_rng *r);            /* standard normal */
uint64_t cg_rng_below(cg_rng *r, uint64_t n); /* uniform integer in [0, n), n > 0, unbiased */
/* Fisher-Yates shuffle of idx[0..n). */
void cg_rng_shuffle(cg_rng *r, int64_t *idx, int64_t n);

/* ---------------------------------------------------------------- arena ----------------- */
/* Bump allocator for per-batch scratch: sized once, reset between batches, freed at the end.
 * Allocations are 64-byte aligned; their contents are undefined (not zeroed). */
typedef struct {
    unsigned char *base;
    size_t capacity, used, peak;
} cg_arena;
cg_status cg_arena_init(cg_arena *a, size_t capacity_bytes);
/* NULL (with cg_error set) when the arena is exhausted. */
void *cg_arena_alloc(cg_arena *a, size_t bytes);
#define CG_ARENA_ALLOC(a, type, count) ((type *)cg_arena_alloc((a), sizeof(type) * (size_t)(count)))
void cg_arena_reset(cg_arena *a);
void cg_arena_free(cg_arena *a);

/* ---------------------------------------------------------------- memory ---------------- */
/* malloc/calloc that set cg_error (naming `what`) on failure or size overflow. Free with free().
 * cg_alloc_aligned returns 64-byte-aligned memory, also freed with free(). */
void *cg_malloc(size_t n, size_t size, const char *what);
void *cg_calloc(size_t n, size_t size, const char *what);
void *cg_alloc_aligned(size_t n, size_t size, const char *what);

/* ---------------------------------------------------------------- files ----------------- */
/* An output written under a temporary name in the same directory and renamed into place by
 * cg_outfile_commit(), so an interrupted run never leaves a partial file under the final
 * name and never destroys a previous output. abort() removes the temporary. */
typedef struct {
    FILE *fp;
    char *path;     /* final name */
    char *tmp_path; /* path.tmp-<pid>-<n> */
} cg_outfile;
cg_status cg_outfile_open(cg_outfile *o, const char *path);
/* cg_outfile_open of DIR/NAME. */
cg_status cg_outfile_open_in(cg_outfile *o, const char *dir, const char *name);
cg_status cg_outfile_commit(cg_outfile *o); /* fflush + fclose + rename; aborts on error */
void cg_outfile_abort(cg_outfile *o);       /* safe on a zeroed or closed struct */
/* Create a directory (and parents) if missing. */
cg_status cg_mkdir_p(const char *path);
/* Join a directory and a file name into a fresh malloc'd string. */
char *cg_path_join(const char *dir, const char *name);
/* Directory part of a path ("." if none), malloc'd. */
char *cg_path_dirname(const char *path);
int cg_file_exists(const char *path);
/* Size of a regular file in bytes, or -1 with cg_error set. */
int64_t cg_file_size(const char *path);

/* ---------------------------------------------------------------- provenance ------------ */
const char *cg_version(void);  /* "0.1.0" */
const char *cg_git_hash(void); /* short hash, "-dirty" suffix, or "unknown" */
/* "cryogen 0.1.0 (git abcdef) seed=42" into buf; returns buf. With seed CG_NO_SEED the seed is
 * left out. The thread count is deliberately absent: outputs must not depend on it. */
#define CG_NO_SEED UINT64_MAX
char *cg_provenance(char *buf, size_t size, uint64_t seed);
/* Threads OpenMP will use (1 without OpenMP); cg_set_threads(n <= 0) leaves the default. */
int cg_get_threads(void);
void cg_set_threads(int n);

/* ---------------------------------------------------------------- interrupts ------------ */
/* Long loops poll cg_interrupted() and return CG_ERR_INTERRUPTED so outputs can be aborted
 * cleanly. The CLI installs SIGINT/SIGTERM handlers that set the flag. */
int cg_interrupted(void);
void cg_set_interrupted(int flag);

#ifdef __cplusplus
}
#endif
