/* AVX2 path (with F16C), for x86-64 CPUs without AVX-512; chosen at run time by fi_best_path().
 * Philox for one group as two 8-lane halves and the group layout; the math is fi_math.h over
 * fi_simd_avx2.h. */
#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC target("avx2,f16c")
#include "fi_kernels.h"
#include "fi_simd_avx2.h"
#include "fi_math.h"

static inline void mulhilo8(__m256i x, __m256i m, __m256i *hi, __m256i *lo) {
    __m256i even = _mm256_mul_epu32(x, m);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

/* x[2w + h] = word w of blocks 16g + 8h .. 16g + 8h + 7, i.e. elements 16w + 8h .. + 7 */
static inline void philox_group(const fi_params *p, uint64_t g, __m256i x[8]) {
    uint64_t b = 16 * g;
    const __m256i m0 = i_set(FI_PHILOX_M0), m1 = i_set(FI_PHILOX_M1);
    __m256i c0[2], c1[2], c2[2], c3[2];
    for (int h = 0; h < 2; h++) {
        c0[h] = _mm256_add_epi32(i_set((uint32_t)b + 8u * h), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        c1[h] = i_set((uint32_t)(b >> 32));
        c2[h] = i_set(p->stream[0]);
        c3[h] = i_set(p->stream[1]);
    }
    uint32_t k0 = p->key[0], k1 = p->key[1];
    for (int round = 0; round < 10; round++) {
        const __m256i kk0 = i_set(k0), kk1 = i_set(k1);
        for (int h = 0; h < 2; h++) {
            __m256i hi0, lo0, hi1, lo1;
            mulhilo8(c0[h], m0, &hi0, &lo0);
            mulhilo8(c2[h], m1, &hi1, &lo1);
            c0[h] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[h]), kk0);
            c2[h] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[h]), kk1);
            c1[h] = lo1;
            c3[h] = lo0;
        }
        k0 += FI_PHILOX_W0; k1 += FI_PHILOX_W1;
    }
    for (int h = 0; h < 2; h++) { x[h] = c0[h]; x[2 + h] = c1[h]; x[4 + h] = c2[h]; x[6 + h] = c3[h]; }
}

void fi_groups_avx2(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst) {
    const size_t group_bytes = p->dtype == FI_F64 ? 32 * 8 : 64 * (p->dtype == FI_F32 ? 4 : 2);
    for (int64_t gi = 0; gi < ngroups; gi++) {
        __m256i x[8];
        philox_group(p, g0 + (uint64_t)gi, x);
        char *o = (char *)dst + group_bytes * (size_t)gi;
        if (p->dtype != FI_F64) {
            narrow_vectors(p, x, FI_NVF, o);
            continue;
        }
        /* wide element 16h + 8half + 4qtr + i joins words 2h and 2h+1 of block 8half + 4qtr + i */
        __m256i k[8];
        for (int h = 0; h < 2; h++)
            for (int half = 0; half < 2; half++)
                for (int qtr = 0; qtr < 2; qtr++) {
                    __m256i lo32 = x[2 * (2 * h) + half], hi32 = x[2 * (2 * h + 1) + half];
                    __m128i l = qtr ? _mm256_extracti128_si256(lo32, 1) : _mm256_castsi256_si128(lo32);
                    __m128i u = qtr ? _mm256_extracti128_si256(hi32, 1) : _mm256_castsi256_si128(hi32);
                    k[4 * h + 2 * half + qtr] = _mm256_or_si256(_mm256_cvtepu32_epi64(l), _mm256_slli_epi64(_mm256_cvtepu32_epi64(u), 32));
                }
        wide_vectors(p, k, FI_NVD, (double *)o);
    }
}
#endif
