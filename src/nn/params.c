/* Parameter store: one flat buffer each for parameters, gradients, Adam moments and the
 * optional EMA, with a table of named views (llm.c's ParameterTensors, generalised to a
 * table so models can be composed by hand). Offsets are rounded up to 16 floats so every
 * tensor starts on a 64-byte boundary; the padding is zero and stays zero. */
#include <stdlib.h>
#include <string.h>

#include "cryogen/nn.h"

void cg_nn_params_init(cg_nn_params *p) { memset(p, 0, sizeof *p); }

cg_status cg_nn_params_add(cg_nn_params *p, const char *name, int ndim, const int64_t *shape, int *index) {
    if (p->param) return cg_error(CG_ERR_ARG, "nn params: cannot add tensor '%s' after allocation", name);
    if (!name || !*name || strlen(name) >= CG_NN_NAME_MAX)
        return cg_error(CG_ERR_ARG, "nn params: tensor name '%s' is empty or longer than %d bytes",
                        name ? name : "(null)", CG_NN_NAME_MAX - 1);
    if (ndim < 1 || ndim > CG_NN_MAX_DIM)
        return cg_error(CG_ERR_ARG, "nn params: tensor '%s' has %d dimensions (1..%d allowed)", name, ndim,
                        CG_NN_MAX_DIM);
    if (cg_nn_params_find(p, name) >= 0) return cg_error(CG_ERR_ARG, "nn params: duplicate tensor name '%s'", name);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0 || (size_t)shape[i] > ((size_t)1 << 40) / count)
            return cg_error(CG_ERR_ARG, "nn params: tensor '%s' dimension %d has bad extent %lld", name, i,
                            (long long)shape[i]);
        count *= (size_t)shape[i];
    }
    if (p->n_tensors == p->cap_tensors) {
        int cap = p->cap_tensors ? 2 * p->cap_tensors : 16;
        cg_nn_tensor *t = realloc(p->tensors, (size_t)cap * sizeof *t);
        if (!t) return cg_error(CG_ERR_NOMEM, "nn params: cannot grow the tensor table to %d entries", cap);
        p->tensors = t;
        p->cap_tensors = cap;
    }
    cg_nn_tensor *t = &p->tensors[p->n_tensors];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->count = count;
    t->offset = p->count;
    p->count += (count + 15) & ~(size_t)15;
    if (index) *index = p->n_tensors;
    p->n_tensors++;
    return CG_OK;
}

static float *alloc_zeroed(size_t n, const char *what) {
    float *x = cg_alloc_aligned(n ? n : 16, sizeof(float), what);
    if (x) memset(x, 0, (n ? n : 16) * sizeof(float));
    return x;
}

cg_status cg_nn_params_alloc(cg_nn_params *p) {
    if (p->param) return cg_error(CG_ERR_ARG, "nn params: already allocated");
    p->param = alloc_zeroed(p->count, "nn parameters");
    p->grad = alloc_zeroed(p->count, "nn gradients");
    p->m = alloc_zeroed(p->count, "nn Adam first moments");
    p->v = alloc_zeroed(p->count, "nn Adam second moments");
    if (!p->param || !p->grad || !p->m || !p->v) {
        free(p->param), free(p->grad), free(p->m), free(p->v);
        p->param = p->grad = p->m = p->v = NULL;
        return CG_ERR_NOMEM;
    }
    p->step = 0;
    return CG_OK;
}

cg_status cg_nn_params_enable_ema(cg_nn_params *p) {
    if (!p->param) return cg_error(CG_ERR_ARG, "nn params: enable EMA after allocation");
    if (!p->ema) {
        p->ema = alloc_zeroed(p->count, "nn EMA weights");
        if (!p->ema) return CG_ERR_NOMEM;
    }
    memcpy(p->ema, p->param, p->count * sizeof(float));
    return CG_OK;
}

void cg_nn_params_free(cg_nn_params *p) {
    if (!p) return;
    free(p->tensors);
    free(p->param), free(p->grad), free(p->m), free(p->v), free(p->ema);
    memset(p, 0, sizeof *p);
}

int cg_nn_params_find(const cg_nn_params *p, const char *name) {
    for (int i = 0; i < p->n_tensors; i++)
        if (!strcmp(p->tensors[i].name, name)) return i;
    return -1;
}

void cg_nn_params_zero_grad(cg_nn_params *p) {
    if (p->grad) memset(p->grad, 0, p->count * sizeof(float));
}

cg_status cg_nn_params_copy(cg_nn_params *dst, const cg_nn_params *src) {
    if (dst->count != src->count || dst->n_tensors != src->n_tensors || !dst->param || !src->param)
        return cg_error(CG_ERR_ARG, "nn params copy: stores differ (%d vs %d tensors, %zu vs %zu floats)",
                        dst->n_tensors, src->n_tensors, dst->count, src->count);
    memcpy(dst->param, src->param, src->count * sizeof(float));
    return CG_OK;
}
