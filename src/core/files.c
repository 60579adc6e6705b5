/* Atomic output files, directories and paths. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cryogen/core.h"

static atomic_int g_tmp_counter;

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = cg_malloc(n, 1, "path");
    if (d) memcpy(d, s, n);
    return d;
}

cg_status cg_outfile_open(cg_outfile *o, const char *path) {
    memset(o, 0, sizeof *o);
    if (!path || !*path) return cg_error(CG_ERR_ARG, "empty output path");
    o->path = dup_str(path);
    size_t n = strlen(path) + 64;
    o->tmp_path = cg_malloc(n, 1, "path");
    if (!o->path || !o->tmp_path) {
        cg_outfile_abort(o);
        return CG_ERR_NOMEM;
    }
    snprintf(o->tmp_path, n, "%s.tmp-%ld-%d", path, (long)getpid(), atomic_fetch_add(&g_tmp_counter, 1));
    o->fp = fopen(o->tmp_path, "wb");
    if (!o->fp) {
        cg_status s = cg_error(CG_ERR_IO, "%s: cannot create output file: %s", o->tmp_path, strerror(errno));
        cg_outfile_abort(o);
        return s;
    }
    return CG_OK;
}

cg_status cg_outfile_open_in(cg_outfile *o, const char *dir, const char *name) {
    memset(o, 0, sizeof *o);
    char *path = cg_path_join(dir, name);
    if (!path) return cg_error(CG_ERR_NOMEM, "output path %s/%s", dir ? dir : "", name ? name : "");
    cg_status s = cg_outfile_open(o, path);
    free(path);
    return s;
}

cg_status cg_outfile_commit(cg_outfile *o) {
    if (!o->fp) return cg_error(CG_ERR_INTERNAL, "%s: commit of a file that is not open", o->path ? o->path : "?");
    int bad = ferror(o->fp) != 0;
    bad |= fflush(o->fp) != 0;
    bad |= fsync(fileno(o->fp)) != 0 && errno != EINVAL && errno != EROFS;
    int err = errno;
    bad |= fclose(o->fp) != 0;
    o->fp = NULL;
    if (bad) {
        cg_status s = cg_error(CG_ERR_IO, "%s: write failed: %s", o->path, strerror(err ? err : errno));
        cg_outfile_abort(o);
        return s;
    }
    if (rename(o->tmp_path, o->path) != 0) {
        cg_status s = cg_error(CG_ERR_IO, "%s: cannot rename %s into place: %s", o->path, o->tmp_path, strerror(errno));
        cg_outfile_abort(o);
        return s;
    }
    free(o->path);
    free(o->tmp_path);
    memset(o, 0, sizeof *o);
    return CG_OK;
}

void cg_outfile_abort(cg_outfile *o) {
    if (!o) return;
    if (o->fp) fclose(o->fp);
    if (o->tmp_path) unlink(o->tmp_path);
    free(o->path);
    free(o->tmp_path);
    memset(o, 0, sizeof *o);
}

cg_status cg_mkdir_p(const char *path) {
    if (!path || !*path) return cg_error(CG_ERR_ARG, "empty directory name");
    char *p = dup_str(path);
    if (!p) return CG_ERR_NOMEM;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                cg_status st = cg_error(CG_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return st;
            }
            *s = c;
            if (!c) break;
        }
    }
    struct stat sb;
    int ok = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    free(p);
    if (!ok) return cg_error(CG_ERR_IO, "%s: exists but is not a directory", path);
    return CG_OK;
}

char *cg_path_join(const char *dir, const char *name) {
    if (!dir || !*dir || name[0] == '/') return dup_str(name);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = cg_malloc(n, 1, "path");
    if (!s) return NULL;
    size_t dl = strlen(dir);
    snprintf(s, n, dir[dl - 1] == '/' ? "%s%s" : "%s/%s", dir, name);
    return s;
}

char *cg_path_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return dup_str(".");
    if (slash == path) return dup_str("/");
    size_t n = (size_t)(slash - path);
    char *s = cg_malloc(n + 1, 1, "path");
    if (!s) return NULL;
    memcpy(s, path, n);
    s[n] = '\0';
    return s;
}

int cg_file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

int64_t cg_file_size(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        cg_error(CG_ERR_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        cg_error(CG_ERR_IO, "%s: not a regular file", path);
        return -1;
    }
    return (int64_t)sb.st_size;
}

/* ---- interrupts ---- */
static volatile sig_atomic_t g_interrupted = 0;
int cg_interrupted(void) { return g_interrupted != 0; }
void cg_set_interrupted(int flag) { g_interrupted = flag; }
