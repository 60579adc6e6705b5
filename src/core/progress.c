/* Progress line with rate and ETA, and clocks. */
#include <time.h>
#include <unistd.h>

#include "cryogen/core.h"

static int g_quiet = 0;
void cg_progress_set_quiet(int quiet) { g_quiet = quiet; }

double cg_time_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double cg_cpu_time_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void format_duration(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e8) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

void cg_progress_begin(cg_progress *p, const char *label, const char *unit, int64_t total) {
    p->label = label;
    p->unit = unit ? unit : "items";
    p->total = total;
    p->done = 0;
    p->t_start = p->t_last = cg_time_s();
    p->enabled = !g_quiet && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
}

void cg_progress_update(cg_progress *p, int64_t done) {
    p->done = done;
    if (!p->enabled) return;
    double now = cg_time_s();
    if (now - p->t_last < 0.25 && done < p->total) return;
    p->t_last = now;
    double el = now - p->t_start, rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(p->total - done) / rate : -1;
    char e[32], r[32];
    format_duration(e, sizeof e, el);
    format_duration(r, sizeof r, eta);
    double pct = p->total > 0 ? 100.0 * (double)done / (double)p->total : 0;
    fprintf(stderr, "\r%s: %lld/%lld %s (%.0f%%) %.1f %s/s elapsed %s ETA %s   ", p->label, (long long)done,
            (long long)p->total, p->unit, pct, rate, p->unit, e, r);
    fflush(stderr);
}

void cg_progress_end(cg_progress *p) {
    double el = cg_time_s() - p->t_start;
    if (p->enabled) {
        fprintf(stderr, "\r%s: %lld %s in %.2f s (%.1f %s/s)%20s\n", p->label, (long long)p->done, p->unit, el,
                el > 0 ? (double)p->done / el : 0.0, p->unit, "");
        fflush(stderr);
    }
}
