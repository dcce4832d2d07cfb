/* Cache-blocked matrix transpose, used to rearrange filters (backward routes) and views (copy_view.c). */
#include "internal.h"

/* dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols, in 16 x 16 blocks: both sides are
   read or written in runs of 16 floats, where an element-wise transpose of a filter with hundreds of
   channels misses the cache (and the TLB) on every write. */
void c4j_transpose(const float *restrict src, int64_t lds, int64_t rows, int64_t cols, float *restrict dst,
                   int64_t ldd) {
    enum { B = 16 };
    for (int64_t i0 = 0; i0 < rows; i0 += B) {
        const int64_t ni = C4J_MIN(B, rows - i0);
        for (int64_t j0 = 0; j0 < cols; j0 += B) {
            const int64_t nj = C4J_MIN(B, cols - j0);
            if (ni == B && nj == B) {
                float t[B][B];
                for (int i = 0; i < B; i++)
                    for (int j = 0; j < B; j++) t[j][i] = src[(i0 + i) * lds + j0 + j];
                for (int j = 0; j < B; j++)
                    for (int i = 0; i < B; i++) dst[(j0 + j) * ldd + i0 + i] = t[j][i];
            } else {
                for (int64_t j = 0; j < nj; j++)
                    for (int64_t i = 0; i < ni; i++) dst[(j0 + j) * ldd + i0 + i] = src[(i0 + i) * lds + j0 + j];
            }
        }
    }
}
