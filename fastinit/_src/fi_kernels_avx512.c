/* AVX-512 path (F, DQ, BW, VL), chosen at run time by fi_best_path(): Philox for two groups at
 * once and the group layout; the math is fi_math.h over fi_simd_avx512.h. */
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
#include <string.h>

/* ---------------- Philox4x32-10, 16 blocks at once (one per 32-bit lane) ---------------- */

static inline void mulhilo16(__m512i x, __m512i m, __m512i *hi, __m512i *lo) {
    __m512i even = _mm512_mul_epu32(x, m);                                /* lanes 0,2,..: 64-bit products */
    __m512i odd = _mm512_mul_epu32(_mm512_shuffle_epi32(x, _MM_PERM_CDAB), m);  /* lanes 1,3,.. */
    /* high halves: even lanes from the swapped even products, odd lanes already in place */
    *hi = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB);
    *lo = _mm512_mullo_epi32(x, m);
}

/* Philox for NG consecutive groups at once: NG independent multiply chains keep the
 * multiplier busy (one chain alone is latency-bound).  Lane l of group g is block 16g + l. */
#define NG 2
static inline void philox16xN(const fi_params *p, uint64_t g, int ng, __m512i x[NG][4]) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m0 = i_set(FI_PHILOX_M0), m1 = i_set(FI_PHILOX_M1);
    __m512i c0[NG], c1[NG], c2[NG], c3[NG];
    for (int j = 0; j < NG; j++) {
        uint64_t b = 16 * (g + (uint64_t)(j < ng ? j : 0));
        c0[j] = _mm512_add_epi32(i_set((uint32_t)b), lane);
        c1[j] = i_set((uint32_t)(b >> 32));
        c2[j] = i_set(p->stream[0]);
        c3[j] = i_set(p->stream[1]);
    }
    uint32_t k0 = p->key[0], k1 = p->key[1];
    for (int round = 0; round < 10; round++) {
        const __m512i kk0 = i_set(k0), kk1 = i_set(k1);
        for (int j = 0; j < NG; j++) {
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
    for (int j = 0; j < NG; j++) { x[j][0] = c0[j]; x[j][1] = c1[j]; x[j][2] = c2[j]; x[j][3] = c3[j]; }
}

/* The math runs on both groups of a Philox batch at once (8 vectors): twice the independent
 * work to overlap with the long dependency chains (log, sqrt, polynomials) of the probits.
 * Word w of the 16 blocks of group g feeds narrow elements 64g + 16w .. + 15 as it stands; wide
 * element 16h + l of a group joins words 2h (low half) and 2h+1 (high half) of block l. */
static inline void store_groups(const fi_params *p, const fi_narrow *narrow, __m512i x[NG][4], void *dst) {
    if (p->dtype != FI_F64) {
        narrow_vectors(narrow, &x[0][0], 4 * NG, dst, FI_KIND_ANY);
        return;
    }
    __m512i k[4 * NG];
    for (int g = 0; g < NG; g++)
        for (int h = 0; h < 2; h++)
            for (int half = 0; half < 2; half++) {
                __m256i lo = half ? _mm512_extracti64x4_epi64(x[g][2 * h], 1) : _mm512_castsi512_si256(x[g][2 * h]);
                __m256i hi = half ? _mm512_extracti64x4_epi64(x[g][2 * h + 1], 1) : _mm512_castsi512_si256(x[g][2 * h + 1]);
                k[4 * g + 2 * h + half] = _mm512_or_si512(_mm512_cvtepu32_epi64(lo), _mm512_slli_epi64(_mm512_cvtepu32_epi64(hi), 32));
            }
    wide_vectors(p, k, 4 * NG, (double *)dst);
}

void fi_groups_avx512(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst, int stream) {
    const size_t group_bytes = fi_group_bytes(p->dtype);
    fi_narrow narrow;
    /* below 64-byte alignment a vector takes two or four stream stores and the shuffles between
     * them: worth it for uniform_ (bound by memory), measured 1-4% slower for the normals (bound
     * by the math), which then store plainly */
    narrow_init(&narrow, p, stream && (((uintptr_t)dst & 63) == 0 || p->dist == FI_UNIFORM));
    for (int64_t gi = 0; gi < ngroups; gi += NG) {
        int ng = ngroups - gi < NG ? (int)(ngroups - gi) : NG;
        __m512i x[NG][4];
        philox16xN(p, g0 + (uint64_t)gi, ng, x);
        char *o = (char *)dst + group_bytes * (size_t)gi;
        if (ng == NG) {
            store_groups(p, &narrow, x, o);
        } else {             /* a last, odd group: computed with a copy of itself, kept once */
            double tmp[NG * 32];
            narrow.stream = 0;   /* (tmp is on the stack) */
            store_groups(p, &narrow, x, tmp);
            memcpy(o, tmp, group_bytes * (size_t)ng);
        }
    }
}
#ifdef __clang__
#pragma clang attribute pop
#endif
#endif
