/* Status codes and the thread-local error message. */
#include <stdarg.h>
#include <string.h>

#include "cryogen/core.h"

enum { CG_ERRMSG_SIZE = 2048 };
static _Thread_local char g_errmsg[CG_ERRMSG_SIZE];

const char *cg_status_str(cg_status s) {
    switch (s) {
    case CG_OK: return "ok";
    case CG_ERR_ARG: return "invalid argument";
    case CG_ERR_IO: return "i/o error";
    case CG_ERR_FORMAT: return "malformed input";
    case CG_ERR_UNSUPPORTED: return "unsupported";
    case CG_ERR_NOMEM: return "out of memory";
    case CG_ERR_RANGE: return "value out of range";
    case CG_ERR_INTERNAL: return "internal error";
    case CG_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

cg_status cg_error(cg_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_errmsg, sizeof g_errmsg, fmt, ap);
    va_end(ap);
    return s;
}

cg_status cg_error_prefix(cg_status s, const char *fmt, ...) {
    char prefix[CG_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t lp = strlen(prefix), lo = strlen(g_errmsg);
    if (lp + 3 >= CG_ERRMSG_SIZE) lp = CG_ERRMSG_SIZE - 3;
    if (lo == 0) {
        memcpy(g_errmsg, prefix, lp);
        g_errmsg[lp] = '\0';
        return s;
    }
    size_t keep = lo < CG_ERRMSG_SIZE - 1 - lp - 2 ? lo : CG_ERRMSG_SIZE - 1 - lp - 2;
    memmove(g_errmsg + lp + 2, g_errmsg, keep);
    g_errmsg[lp + 2 + keep] = '\0';
    memcpy(g_errmsg, prefix, lp);
    g_errmsg[lp] = ':';
    g_errmsg[lp + 1] = ' ';
    return s;
}

const char *cg_last_error(void) { return g_errmsg; }
void cg_clear_error(void) { g_errmsg[0] = '\0'; }
