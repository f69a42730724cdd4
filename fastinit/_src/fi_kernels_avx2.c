/* AVX2 path (with F16C), for x86-64 CPUs without AVX-512; chosen at run time by fi_best_path().
 * Its words function (Philox for one group); the math is fi_math.h over fi_simd_avx2.h, the group
 * loop fi_groups.h. */
#if defined(__x86_64__) && defined(__GNUC__)
/* The system headers first, outside the target region (clang's intrinsics carry their own). */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
/* Every function below is compiled for these features: gcc's target pragma; clang ignores it and
 * takes an attribute applied to every function instead. */
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx2,f16c"))), apply_to = function)
#else
#pragma GCC target("avx2,f16c")
#endif
#include "fi_kernels.h"
#include "fi_simd_avx2.h"
#include "fi_math.h"

/* Philox for one group in "split" form: the 16 blocks as four vectors of four 64-bit lanes
 * (lanes of 8h + 2l + o in vector 2h + o), each Philox word in the low 32 bits of its lane.
 * _mm256_mul_epu32 reads just those bits and returns the whole 64-bit product, so a round is a
 * multiply, a shift (the high half down) and two xors per word pair; the packed form (eight
 * 32-bit lanes) would also need a shift for the odd lanes' input and two blends to repack the
 * products every round.  The high 32 bits of each lane are don't-cares until the final repack.
 * x[2w + h] = word w of blocks 16g + 8h .. 16g + 8h + 7, i.e. elements 16w + 8h .. + 7 */
#define FI_WORDS_NG 1
static inline void fi_words(const fi_params *p, uint64_t g, vi x[FI_NVF]) {
    uint64_t b = 16 * g;
    const uint32_t hi = (uint32_t)(b >> 32), s0 = p->stream[0], s1 = p->stream[1];
    const __m256i m0 = _mm256_set1_epi64x(FI_PHILOX_M0), m1 = _mm256_set1_epi64x(FI_PHILOX_M1);
    uint32_t k0 = p->key[0], k1 = p->key[1];
    /* Words 1..3 of the counter are the same in all 16 blocks, so the multiply of word 2 in round 1
     * and of word 0 in round 2 (which then depends on them alone) are one scalar product each:
     * rounds 1 and 2 cost a multiply, a shift and one xor per vector instead of two of each. */
    const uint64_t r1 = (uint64_t)FI_PHILOX_M1 * s0;                     /* round 1, word 2 */
    const uint32_t r1_c0 = (uint32_t)(r1 >> 32) ^ hi ^ k0, r1_c1 = (uint32_t)r1;
    const uint64_t r2 = (uint64_t)FI_PHILOX_M0 * r1_c0;                  /* round 2, word 0 */
    const uint32_t k0_2 = k0 + FI_PHILOX_W0, k1_2 = k1 + FI_PHILOX_W1;
    __m256i c0[4], c1[4], c2[4], c3[4];
    for (int v = 0; v < 4; v++) {   /* v = 2h + o: blocks 8h + o, 8h + o + 2, .. */
        __m256i ctr = _mm256_add_epi64(_mm256_set1_epi64x((uint32_t)b + 8u * (v >> 1) + (v & 1)), _mm256_setr_epi64x(0, 2, 4, 6));
        __m256i p0 = _mm256_mul_epu32(ctr, m0);                                  /* round 1 */
        __m256i w2 = _mm256_xor_si256(_mm256_srli_epi64(p0, 32), i_set(s1 ^ k1));
        __m256i p1 = _mm256_mul_epu32(w2, m1);                                   /* round 2 */
        c0[v] = _mm256_xor_si256(_mm256_srli_epi64(p1, 32), i_set(r1_c1 ^ k0_2));
        c1[v] = p1;
        c2[v] = _mm256_xor_si256(p0, i_set((uint32_t)(r2 >> 32) ^ k1_2));        /* p0's low half: round 1's word 3 */
        c3[v] = i_set((uint32_t)r2);
    }
    k0 = k0_2 + FI_PHILOX_W0; k1 = k1_2 + FI_PHILOX_W1;
    for (int round = 2; round < 10; round++) {
        const __m256i kk0 = i_set(k0), kk1 = i_set(k1);
        for (int v = 0; v < 4; v++) {
            __m256i p0 = _mm256_mul_epu32(c0[v], m0), p1 = _mm256_mul_epu32(c2[v], m1);
            c0[v] = _mm256_xor_si256(_mm256_srli_epi64(p1, 32), _mm256_xor_si256(c1[v], kk0));
            c2[v] = _mm256_xor_si256(_mm256_srli_epi64(p0, 32), _mm256_xor_si256(c3[v], kk1));
            c1[v] = p1;
            c3[v] = p0;
        }
        k0 += FI_PHILOX_W0; k1 += FI_PHILOX_W1;
    }
    const __m256i *w[4] = {c0, c1, c2, c3};
    for (int k = 0; k < 4; k++)
        for (int h = 0; h < 2; h++)   /* even blocks' words stay in the even 32-bit lanes */
            x[2 * k + h] = _mm256_blend_epi32(w[k][2 * h], _mm256_slli_epi64(w[k][2 * h + 1], 32), 0xAA);
}

#define FI_GROUPS_FN fi_groups_avx2
#include "fi_groups.h"
#ifdef __clang__
#pragma clang attribute pop
#endif
#endif
