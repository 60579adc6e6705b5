/* Streaming, multi-threaded back-projection of a particle set (include/cryogen/recon.h).
 *
 * Threads: OpenMP static schedule over the selection, so thread t always gets the same
 * contiguous block for a given thread count; thread 0 inserts into the caller's accumulator,
 * the others into their own, which are added in thread order afterwards (no atomics on
 * floating-point data). Memory: one image and one worker per thread plus the accumulators.
 * Errors inside the parallel loop are recorded once (first particle index that failed, under
 * a critical section) and the remaining iterations skip their work.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/geom.h"
#include "cryogen/recon.h"

#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

static int half_of(const cg_recon_input *in, int64_t pos, int64_t idx, int from_file) {
    return from_file ? in->subset[idx] - 1 : (int)(pos % 2);
}

/* Insert one particle; on failure the message names the particle. */
static cg_status insert_one(const cg_recon_input *in, cg_recon_accum *acc, cg_recon_worker *w, float *img,
                            int64_t idx, int half) {
    cg_status st = in->read_image(in->user, idx, img);
    if (st) return cg_error_prefix(st, "particle %lld: ", (long long)idx + 1);
    double A[9], origin_px[2] = {0, 0};
    cg_euler_to_matrix(in->euler_rad[3 * idx], in->euler_rad[3 * idx + 1], in->euler_rad[3 * idx + 2], A);
    if (in->origin_A) {
        origin_px[0] = in->origin_A[2 * idx] / in->pixel_size_A;
        origin_px[1] = in->origin_A[2 * idx + 1] / in->pixel_size_A;
    }
    cg_ctf ctf;
    if (in->ctf) {
        st = cg_ctf_init(&ctf, &in->ctf[idx]);
        if (st) return cg_error_prefix(st, "particle %lld: ", (long long)idx + 1);
    }
    st = cg_recon_insert_image(acc, w, half, img, A, origin_px, in->ctf ? &ctf : NULL, in->pixel_size_A);
    return st ? cg_error_prefix(st, "particle %lld: ", (long long)idx + 1) : CG_OK;
}

static cg_status check_input(const cg_recon_input *in, const cg_recon_accum *acc, int *from_file) {
    int64_t nsel = in->select ? in->nselect : in->n;
    if (cg_recon_accum_size(acc) != in->D)
        return cg_error(CG_ERR_ARG, "back-projection: accumulator of %d px for %d px images", cg_recon_accum_size(acc),
                        in->D);
    if (!(in->pixel_size_A > 0)) return cg_error(CG_ERR_ARG, "back-projection: pixel size %g A", in->pixel_size_A);
    if (nsel < 1) return cg_error(CG_ERR_ARG, "back-projection: no particles selected");
    for (int64_t k = 0; in->select && k < nsel; k++)
        if (in->select[k] < 0 || in->select[k] >= in->n)
            return cg_error(CG_ERR_RANGE, "back-projection: selected index %lld outside 1..%lld",
                            (long long)in->select[k] + 1, (long long)in->n);
    *from_file = in->subset != NULL && cg_recon_accum_nhalves(acc) == 2;
    for (int64_t k = 0; *from_file && k < nsel; k++) {
        int s = in->subset[in->select ? in->select[k] : k];
        if (s != 1 && s != 2) *from_file = 0;
    }
    return CG_OK;
}

cg_status cg_recon_backproject(const cg_recon_input *in, cg_recon_accum *acc, cg_progress *progress,
                               cg_recon_stats *stats) {
    int from_file = 0;
    cg_status st = check_input(in, acc, &from_file);
    if (st) return st;
    const int64_t nsel = in->select ? in->nselect : in->n;
    const int nthreads = cg_get_threads(), nh = cg_recon_accum_nhalves(acc);
    cg_recon_accum **extra = cg_calloc(nthreads, sizeof *extra, "per-thread accumulators");
    if (!extra) return CG_ERR_NOMEM;
    for (int t = 1; t < nthreads && !st; t++) st = cg_recon_accum_create(&extra[t], in->D, nh);
    if (st) {
        for (int t = 1; t < nthreads; t++) cg_recon_accum_destroy(extra[t]);
        free(extra);
        return cg_error_prefix(st, "back-projection with %d threads (try fewer with -j): ", nthreads);
    }
    double t0 = cg_time_s();
    int64_t done = 0, count[2] = {0, 0};
    int64_t fail_at = -1;
    cg_status fail_st = CG_OK;
    char fail_msg[512] = "";
#pragma omp parallel num_threads(nthreads)
    {
        int tid = 0;
#ifdef CG_HAVE_OPENMP
        tid = omp_get_thread_num();
#endif
        cg_recon_accum *mine = tid == 0 ? acc : extra[tid];
        cg_recon_worker *w = NULL;
        float *img = cg_malloc((size_t)in->D * in->D, sizeof(float), "image buffer");
        cg_status ts = img ? cg_recon_worker_create(&w, in->D) : CG_ERR_NOMEM;
        int64_t c[2] = {0, 0};
#pragma omp for schedule(static)
        for (int64_t k = 0; k < nsel; k++) {
            int64_t failed;
#pragma omp atomic read
            failed = fail_at;
            if (ts || failed >= 0 || cg_interrupted()) continue;
            int64_t idx = in->select ? in->select[k] : k;
            int half = nh == 2 ? half_of(in, k, idx, from_file) : 0;
            ts = insert_one(in, mine, w, img, idx, half);
            c[half]++;
            int64_t d;
#pragma omp atomic capture
            d = ++done;
            if (tid == 0 && progress) cg_progress_update(progress, d);
        }
        if (ts) {
#pragma omp critical(cg_recon_fail)
            if (fail_at < 0) {
#pragma omp atomic write
                fail_at = 1;
                fail_st = ts;
                snprintf(fail_msg, sizeof fail_msg, "%s", cg_last_error());
            }
        }
#pragma omp atomic
        count[0] += c[0];
#pragma omp atomic
        count[1] += c[1];
        cg_recon_worker_destroy(w);
        free(img);
    }
    for (int t = 1; t < nthreads; t++) {
        if (!fail_st && extra[t]) cg_recon_accum_add(acc, extra[t]);
        cg_recon_accum_destroy(extra[t]);
    }
    free(extra);
    if (progress && !fail_st) cg_progress_update(progress, done);
    if (fail_st) return cg_error(fail_st, "%s", fail_msg);
    if (cg_interrupted()) return cg_error(CG_ERR_INTERRUPTED, "back-projection interrupted");
    if (stats) {
        stats->used = done;
        stats->half_count[0] = count[0];
        stats->half_count[1] = count[1];
        stats->subsets_from_file = from_file;
        stats->seconds = cg_time_s() - t0;
    }
    return CG_OK;
}
