/* Levelled logging with a replaceable sink. */
#include <stdarg.h>

#include "cryogen/core.h"

static cg_log_level g_level = CG_LOG_INFO;
static cg_log_fn g_fn = NULL;
static void *g_user = NULL;

void cg_log_set_level(cg_log_level level) { g_level = level; }
cg_log_level cg_log_get_level(void) { return g_level; }
void cg_log_set_callback(cg_log_fn fn, void *user) {
    g_fn = fn;
    g_user = user;
}

void cg_log(cg_log_level level, const char *fmt, ...) {
    if (level < g_level || level >= CG_LOG_SILENT) return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_fn) {
        g_fn(level, msg, g_user);
        return;
    }
    static const char *names[] = {"debug: ", "", "warning: ", "error: "};
    fprintf(stderr, "cryogen: %s%s\n", names[level], msg);
}
