/* Arena and checked allocation. */
#include <stdlib.h>
#include <string.h>

#include "cryogen/core.h"

static int mul_overflows(size_t n, size_t size, size_t *out) {
    if (size && n > SIZE_MAX / size) return 1;
    *out = n * size;
    return 0;
}

void *cg_malloc(size_t n, size_t size, const char *what) {
    size_t bytes;
    if (mul_overflows(n, size, &bytes)) {
        cg_error(CG_ERR_NOMEM, "%s: %zu x %zu bytes overflows the address space", what, n, size);
        return NULL;
    }
    void *p = malloc(bytes ? bytes : 1);
    if (!p) cg_error(CG_ERR_NOMEM, "%s: cannot allocate %.1f MiB", what, (double)bytes / 1048576.0);
    return p;
}

void *cg_calloc(size_t n, size_t size, const char *what) {
    size_t bytes;
    if (mul_overflows(n, size, &bytes)) {
        cg_error(CG_ERR_NOMEM, "%s: %zu x %zu bytes overflows the address space", what, n, size);
        return NULL;
    }
    void *p = calloc(bytes ? n : 1, bytes ? size : 1);
    if (!p) cg_error(CG_ERR_NOMEM, "%s: cannot allocate %.1f MiB", what, (double)bytes / 1048576.0);
    return p;
}

void *cg_alloc_aligned(size_t n, size_t size, const char *what) {
    size_t bytes;
    if (mul_overflows(n, size, &bytes) || bytes > SIZE_MAX - 64) {
        cg_error(CG_ERR_NOMEM, "%s: %zu x %zu bytes overflows the address space", what, n, size);
        return NULL;
    }
    bytes = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) cg_error(CG_ERR_NOMEM, "%s: cannot allocate %.1f MiB", what, (double)bytes / 1048576.0);
    return p;
}

cg_status cg_arena_init(cg_arena *a, size_t capacity_bytes) {
    memset(a, 0, sizeof *a);
    a->base = cg_alloc_aligned(capacity_bytes, 1, "scratch arena");
    if (!a->base) return CG_ERR_NOMEM;
    a->capacity = (capacity_bytes + 63) & ~(size_t)63;
    return CG_OK;
}

void *cg_arena_alloc(cg_arena *a, size_t bytes) {
    size_t need = (bytes + 63) & ~(size_t)63;
    if (need < bytes || a->used + need > a->capacity) {
        cg_error(CG_ERR_NOMEM, "scratch arena exhausted: %zu bytes requested, %zu of %zu used", bytes, a->used,
                 a->capacity);
        return NULL;
    }
    void *p = a->base + a->used;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

void cg_arena_reset(cg_arena *a) { a->used = 0; }

void cg_arena_free(cg_arena *a) {
    if (!a) return;
    free(a->base);
    memset(a, 0, sizeof *a);
}
