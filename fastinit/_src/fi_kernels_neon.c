/* AArch64 Advanced SIMD (NEON) path: its words function (Philox for one group, four blocks per
 * vector); the math is fi_math.h over fi_simd_neon.h, the group loop fi_groups.h.  Every AArch64
 * CPU has Advanced SIMD, so the path is available wherever this file is built. */
#if defined(__aarch64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#include "fi_kernels.h"
#include "fi_simd_neon.h"
#include "fi_math.h"

/* the 64-bit products of a's lanes by m: high halves in *hi, low halves in *lo */
static inline void mulhilo4(vi a, uint32_t m, vi *hi, vi *lo) {
    const uint32x4_t p01 = vreinterpretq_u32_u64(vmull_n_u32(vget_low_u32(a), m));
    const uint32x4_t p23 = vreinterpretq_u32_u64(vmull_high_n_u32(a, m));
    *hi = vuzp2q_u32(p01, p23);
    *lo = vuzp1q_u32(p01, p23);
}

/* Vector v holds blocks 16g + 4v .. 16g + 4v + 3, so word w of them feeds elements 16w + 4v ..:
 * x[4w + v] as it stands. */
#define FI_WORDS_NG 1
static inline void fi_words(const fi_params *p, uint64_t g, vi x[FI_NVF]) {
    const uint64_t b = 16 * g;
    const uint32x4_t lane = {0, 1, 2, 3};
    vi c0[4], c1[4], c2[4], c3[4];
    for (int v = 0; v < 4; v++) {
        c0[v] = vaddq_u32(vdupq_n_u32((uint32_t)b + 4u * (uint32_t)v), lane);
        c1[v] = vdupq_n_u32((uint32_t)(b >> 32));
        c2[v] = vdupq_n_u32(p->stream[0]);
        c3[v] = vdupq_n_u32(p->stream[1]);
    }
    uint32_t k0 = p->key[0], k1 = p->key[1];
    for (int round = 0; round < 10; round++) {
        const vi kk0 = vdupq_n_u32(k0), kk1 = vdupq_n_u32(k1);
        for (int v = 0; v < 4; v++) {
            vi hi0, lo0, hi1, lo1;
            mulhilo4(c0[v], FI_PHILOX_M0, &hi0, &lo0);
            mulhilo4(c2[v], FI_PHILOX_M1, &hi1, &lo1);
            c0[v] = veorq_u32(veorq_u32(hi1, c1[v]), kk0);
            c2[v] = veorq_u32(veorq_u32(hi0, c3[v]), kk1);
            c1[v] = lo1;
            c3[v] = lo0;
        }
        k0 += FI_PHILOX_W0; k1 += FI_PHILOX_W1;
    }
    for (int v = 0; v < 4; v++) { x[v] = c0[v]; x[4 + v] = c1[v]; x[8 + v] = c2[v]; x[12 + v] = c3[v]; }
}

#define FI_GROUPS_FN fi_groups_neon
#include "fi_groups.h"
#endif
