/* AVX-512 path (F, DQ, BW, VL), chosen at run time by fi_best_path(): its words function (Philox
 * for two groups at once); the math is fi_math.h over fi_simd_avx512.h, the group loop fi_groups.h. */
#if defined(__x86_64__) && defined(__GNUC__)
/* The system headers first, outside the target region (clang's intrinsics carry their own). */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
/* Every function below is compiled for these features: gcc's target pragma; clang ignores it and
 * takes an attribute applied to every function instead. */
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl")
#endif
#include "fi_kernels.h"
#include "fi_simd_avx512.h"
#include "fi_math.h"

/* ---------------- Philox4x32-10, 16 blocks at once (one per 32-bit lane) ---------------- */

static inline void mulhilo16(__m512i x, __m512i m, __m512i *hi, __m512i *lo) {
    __m512i even = _mm512_mul_epu32(x, m);                                /* lanes 0,2,..: 64-bit products */
    __m512i odd = _mm512_mul_epu32(_mm512_shuffle_epi32(x, _MM_PERM_CDAB), m);  /* lanes 1,3,.. */
    /* high halves: even lanes from the swapped even products, odd lanes already in place */
    *hi = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB);
    *lo = _mm512_mullo_epi32(x, m);
}

/* Philox for FI_WORDS_NG consecutive groups at once: independent multiply chains keep the
 * multiplier busy (one chain alone is latency-bound), and the math then runs on both groups'
 * vectors at once (FI_NBF = 8): twice the independent work to overlap with the long dependency
 * chains (log, sqrt, polynomials) of the probits.  Lane l of group g is block 16g + l, so word w
 * of group j is x[4j + w] as it stands. */
#define FI_WORDS_NG 2
static inline void fi_words(const fi_params *p, uint64_t g, vi x[FI_WORDS_NG * FI_NVF]) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m0 = i_set(FI_PHILOX_M0), m1 = i_set(FI_PHILOX_M1);
    __m512i c0[FI_WORDS_NG], c1[FI_WORDS_NG], c2[FI_WORDS_NG], c3[FI_WORDS_NG];
    for (int j = 0; j < FI_WORDS_NG; j++) {
        uint64_t b = 16 * (g + (uint64_t)j);
        c0[j] = _mm512_add_epi32(i_set((uint32_t)b), lane);
        c1[j] = i_set((uint32_t)(b >> 32));
        c2[j] = i_set(p->stream[0]);
        c3[j] = i_set(p->stream[1]);
    }
    uint32_t k0 = p->key[0], k1 = p->key[1];
    for (int round = 0; round < 10; round++) {
        const __m512i kk0 = i_set(k0), kk1 = i_set(k1);
        for (int j = 0; j < FI_WORDS_NG; j++) {
            __m512i hi0, lo0, hi1, lo1;
            mulhilo16(c0[j], m0, &hi0, &lo0);
            mulhilo16(c2[j], m1, &hi1, &lo1);
            c0[j] = _mm512_ternarylogic_epi32(hi1, c1[j], kk0, 0x96);   /* three-way xor */
            c2[j] = _mm512_ternarylogic_epi32(hi0, c3[j], kk1, 0x96);
            c1[j] = lo1;
            c3[j] = lo0;
        }
        k0 += FI_PHILOX_W0; k1 += FI_PHILOX_W1;
    }
    for (int j = 0; j < FI_WORDS_NG; j++) { x[4 * j] = c0[j]; x[4 * j + 1] = c1[j]; x[4 * j + 2] = c2[j]; x[4 * j + 3] = c3[j]; }
}

/* Below 64-byte alignment a vector takes two or four stream stores and the shuffles between them:
 * worth it for uniform_ (bound by memory), measured 1-4% slower for the normals (bound by the
 * math), which then store plainly. */
#define FI_STREAM_SPLIT_UNIFORM_ONLY 1
#define FI_GROUPS_FN fi_groups_avx512
#include "fi_groups.h"
#ifdef __clang__
#pragma clang attribute pop
#endif
#endif
