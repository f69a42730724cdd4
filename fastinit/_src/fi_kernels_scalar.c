/* The portable path, the reference every other path matches bit for bit: fi_math.h over the
 * 1-lane primitives of fi_simd_scalar.h, Philox one block at a time (fi_philox4x32_10). */
#include "fi_kernels.h"
#include "fi_simd_scalar.h"
#include "fi_math.h"

#define FI_WORDS_NG 1
/* word w of block 16g + l at x[16w + l] */
static inline void fi_words(const fi_params *p, uint64_t g, vi x[FI_NVF]) {
    for (int l = 0; l < 16; l++) {
        uint64_t b = 16 * g + (uint64_t)l;
        uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), p->stream[0], p->stream[1]};
        uint32_t out[4];
        fi_philox4x32_10(ctr, p->key, out);
        for (int w = 0; w < 4; w++) x[16 * w + l] = out[w];
    }
}

#define FI_GROUPS_FN fi_groups_scalar
#include "fi_groups.h"
