/*
 * Binds the BLAS at run time with dlopen/dlsym instead of linking it: the JVM side decides which
 * file is used (the OpenBLAS that came through Maven, or one the user names), nothing depends on
 * library load order, and a system OpenBLAS with the same SONAME cannot be picked up by accident.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int c4j_cpu_has_avx512(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512cd");
#else
    return 0;
#endif
}

int c4j_cpu_vector_tier(void) {
    if (c4j_cpu_has_avx512()) return 2;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

/* The OPENBLAS_CORETYPE value to set while loading, or NULL to leave the environment alone. */
static const char *coretype_to_force(const char *coretype) {
    if (coretype == NULL || coretype[0] == '\0') return NULL;
    if (strcmp(coretype, "auto") == 0) return c4j_cpu_has_avx512() ? "SkylakeX" : NULL;
    return coretype;
}

c4j_status c4j_blas_open(const char *path, const char *coretype, c4j_blas *out, char *err,
                         size_t err_len) {
    if (out == NULL || path == NULL || path[0] == '\0')
        return c4j_fail(C4J_ERR_ARG, err, err_len, "no BLAS library path given");
    memset(out, 0, sizeof *out);
    const char *force = coretype_to_force(coretype);
    char saved[256];
    int had_saved = 0;
    if (force != NULL) {
        if (strlen(force) >= sizeof out->forced_coretype)
            return c4j_fail(C4J_ERR_ARG, err, err_len, "OpenBLAS core type name too long: %s", force);
        /* This OpenBLAS is conv4j's private copy: a variable set for other OpenBLAS users in the
           process environment is restored right after, so they see no change. */
        const char *prev = getenv("OPENBLAS_CORETYPE");
        if (prev != NULL && strlen(prev) < sizeof saved) {
            strcpy(saved, prev);
            had_saved = 1;
        }
        setenv("OPENBLAS_CORETYPE", force, 1);
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (force != NULL) {
        if (had_saved) setenv("OPENBLAS_CORETYPE", saved, 1);
        else unsetenv("OPENBLAS_CORETYPE");
        strcpy(out->forced_coretype, force);
    }
    if (h == NULL) {
        const char *why = dlerror();
        return c4j_fail(C4J_ERR_BLAS, err, err_len, "cannot load BLAS %s: %s", path,
                        why ? why : "unknown error");
    }
    /* POSIX guarantees a data pointer from dlsym converts to a function pointer */
    *(void **)&out->sgemm = dlsym(h, "cblas_sgemm");
    if (out->sgemm == NULL) {
        dlclose(h);
        return c4j_fail(C4J_ERR_BLAS, err, err_len, "%s has no cblas_sgemm", path);
    }
    *(void **)&out->dgemm = dlsym(h, "cblas_dgemm");
    *(void **)&out->set_num_threads = dlsym(h, "openblas_set_num_threads");
    *(void **)&out->get_num_threads = dlsym(h, "openblas_get_num_threads");
    *(void **)&out->get_config = dlsym(h, "openblas_get_config");
    *(void **)&out->get_corename = dlsym(h, "openblas_get_corename");
    out->handle = h;
    return C4J_OK;
}

void c4j_blas_close(c4j_blas *blas) {
    if (blas == NULL) return;
    if (blas->handle != NULL) dlclose(blas->handle);
    memset(blas, 0, sizeof *blas);
}
