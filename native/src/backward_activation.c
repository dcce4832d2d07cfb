/* Gradient through the fused activation: dL/d(pre-activation) from dL/d(output) and the output. */
#include <string.h>

#include "internal.h"

c4j_status c4j_activation_backward(int64_t activation, const float *out, const float *grad_out, float *grad_pre,
                                   int64_t count, char *err, size_t err_len) {
    if (count < 0) return c4j_fail(C4J_ERR_ARG, err, err_len, "negative count %lld", (long long)count);
    if (count > 0 && (grad_out == NULL || grad_pre == NULL || (activation != C4J_ACT_NONE && out == NULL)))
        return c4j_fail(C4J_ERR_ARG, err, err_len, "null buffer");
    /* the derivative from the activation's output: relu' = [y > 0], relu6' = [0 < y < 6], except that
       a NaN output passes its gradient on, as PyTorch's threshold/hardtanh backward do, rather than
       hide the NaN behind a zero gradient; grad_pre may alias grad_out (element i is read before it
       is written) */
    switch (activation) {
    case C4J_ACT_NONE:
        if (grad_pre != grad_out) memmove(grad_pre, grad_out, (size_t)count * sizeof(float));
        return C4J_OK;
    case C4J_ACT_RELU:
        for (int64_t i = 0; i < count; i++) grad_pre[i] = out[i] <= 0.0f ? 0.0f : grad_out[i];
        return C4J_OK;
    case C4J_ACT_RELU6:
        for (int64_t i = 0; i < count; i++) grad_pre[i] = out[i] <= 0.0f || out[i] >= 6.0f ? 0.0f : grad_out[i];
        return C4J_OK;
    default:
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unknown activation %lld", (long long)activation);
    }
}
