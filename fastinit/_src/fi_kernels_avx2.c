/* AVX2 path (with F16C), for x86-64 CPUs without AVX-512; chosen at run time by fi_best_path().
 * Same contract as fi_kernels_avx512.c: every lane performs exactly the operations of the scalar
 * reference in fi_kernels.c, so results are bit-identical.  AVX2 lacks unsigned and 64-bit
 * conversions; the helpers below rebuild them from exact pieces (each rounds once, to nearest
 * even, like the scalar conversion). */
#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC target("avx2,f16c")
#include <immintrin.h>
#include "fi_kernels.h"

#define F(x) _mm256_set1_ps(x)
#define D(x) _mm256_set1_pd(x)
#define I32(x) _mm256_set1_epi32((int)(x))
#define I64(x) _mm256_set1_epi64x((long long)(x))
#define NV 8                            /* a group of 64 = 4 words x 2 halves of 8 lanes */
#define VL for (int j = 0; j < NV; j++)

/* ---------------- Philox4x32-10: one group, as two 8-lane halves ---------------- */

static inline void mulhilo8(__m256i x, __m256i m, __m256i *hi, __m256i *lo) {
    __m256i even = _mm256_mul_epu32(x, m);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

/* x[2w + h] = word w of blocks 16g + 8h .. 16g + 8h + 7, i.e. elements 16w + 8h .. + 7 */
static inline void philox_group(const fi_params *p, uint64_t g, __m256i x[NV]) {
    uint64_t b = 16 * g;
    const __m256i m0 = I32(FI_PHILOX_M0), m1 = I32(FI_PHILOX_M1);
    __m256i c0[2], c1[2], c2[2], c3[2];
    for (int h = 0; h < 2; h++) {
        c0[h] = _mm256_add_epi32(I32((uint32_t)b + 8u * h), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        c1[h] = I32((uint32_t)(b >> 32));
        c2[h] = I32(p->stream[0]);
        c3[h] = I32(p->stream[1]);
    }
    uint32_t k0 = p->key[0], k1 = p->key[1];
    for (int round = 0; round < 10; round++) {
        const __m256i kk0 = I32(k0), kk1 = I32(k1);
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

/* ---------------- exact conversions AVX2 lacks ---------------- */

static inline __m256 u32_to_ps(__m256i k) {        /* (float)k, k unsigned: one rounding */
    __m256 hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(k, 16)), F(65536.0f));
    return _mm256_add_ps(hi, _mm256_cvtepi32_ps(_mm256_and_si256(k, I32(0xffff))));
}

static inline __m256d u32lanes_to_pd(__m256i v) {  /* low 32 bits of each 64-bit lane, exactly */
    __m256i magic = _mm256_or_si256(_mm256_and_si256(v, I64(0xffffffffull)), I64(0x4330000000000000ull));
    return _mm256_sub_pd(_mm256_castsi256_pd(magic), D(0x1p52));
}

static inline __m256d u63_to_pd(__m256i v) {       /* (double)v for 0 <= v < 2^63: one rounding */
    __m256d hi = _mm256_mul_pd(u32lanes_to_pd(_mm256_srli_epi64(v, 32)), D(0x1p32));
    return _mm256_add_pd(hi, u32lanes_to_pd(v));
}

static inline __m256d small_i64_to_pd(__m256i v) { /* |v| < 2^31 */
    __m256i lo = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
    return _mm256_cvtepi32_pd(_mm256_castsi256_si128(lo));
}

/* ---------------- float32 math, 8 vectors of 8 lanes ---------------- */

static inline __m256 neg_ps(__m256 x) { return _mm256_xor_ps(x, F(-0.0f)); }
static inline __m256 blend_ps(__m256 a, __m256 b, __m256 mask) { return _mm256_blendv_ps(a, b, mask); }

static inline __m256 horner_ps(const float *c, int n, __m256 x) {
    __m256 acc = F(c[n - 1]);
    for (int k = n - 2; k >= 0; k--) acc = _mm256_add_ps(_mm256_mul_ps(acc, x), F(c[k]));
    return acc;
}

static inline void horner_ps_v(const float *c, int n, const __m256 x[NV], __m256 acc[NV]) {
    VL acc[j] = F(c[n - 1]);
    for (int k = n - 2; k >= 0; k--) {
        const __m256 ck = F(c[k]);
        VL acc[j] = _mm256_add_ps(_mm256_mul_ps(acc[j], x[j]), ck);
    }
}

static inline void log_ps_v(const __m256 x[NV], __m256 out[NV]) {
    __m256 s[NV], s2[NV], ef[NV], r[NV];
    VL {
        __m256i b = _mm256_castps_si256(x[j]);
        __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(b, 23), I32(127));
        __m256i mb = _mm256_or_si256(_mm256_and_si256(b, I32(0x007fffffu)), I32(0x3f800000u));
        __m256i big = _mm256_cmpgt_epi32(mb, I32(0x3fbfffffu));   /* mb >= 0x3fc00000 (both positive) */
        mb = _mm256_sub_epi32(mb, _mm256_and_si256(big, I32(0x00800000u)));
        e = _mm256_sub_epi32(e, big);                               /* big is -1 where set: e + 1 */
        __m256 f = _mm256_sub_ps(_mm256_castsi256_ps(mb), F(1.0f));
        s[j] = _mm256_div_ps(f, _mm256_add_ps(F(2.0f), f));
        s2[j] = _mm256_mul_ps(s[j], s[j]);
        ef[j] = _mm256_cvtepi32_ps(e);
        r[j] = F(1.0f / (2 * (FI_LOG_TERMS_F32 - 1) + 1));
    }
    for (int k = FI_LOG_TERMS_F32 - 2; k >= 0; k--) {
        const __m256 ck = F(1.0f / (2 * k + 1));
        VL r[j] = _mm256_add_ps(_mm256_mul_ps(r[j], s2[j]), ck);
    }
    VL {
        __m256 l = _mm256_mul_ps(_mm256_add_ps(s[j], s[j]), r[j]);
        out[j] = _mm256_add_ps(_mm256_mul_ps(ef[j], F((float)FI_LN2_HI_F32)),
                               _mm256_add_ps(l, _mm256_mul_ps(ef[j], F((float)FI_LN2_LO_F32))));
    }
}

static inline void probit_ps_v(const __m256 t[NV], const __m256 q[NV], __m256 z[NV]) {
    __m256 y[NV], w[NV], x[NV];
    VL y[j] = _mm256_mul_ps(_mm256_mul_ps(t[j], F(4.0f)), _mm256_add_ps(F(0.5f), q[j]));
    log_ps_v(y, w);
    VL { w[j] = neg_ps(w[j]); x[j] = _mm256_sub_ps(w[j], F(2.5f)); }
    horner_ps_v(FI_P32_CENTRAL, FI_P32_CENTRAL_N, x, z);
    VL {
        z[j] = _mm256_mul_ps(q[j], z[j]);
        __m256 tail = _mm256_cmp_ps(w[j], F(5.0f), _CMP_GT_OQ);
        if (_mm256_movemask_ps(tail)) {
            __m256 s = _mm256_sqrt_ps(w[j]);
            __m256 zt = horner_ps(FI_P32_TAIL, FI_P32_TAIL_N, _mm256_sub_ps(s, F(3.5f)));
            __m256 far = _mm256_and_ps(_mm256_cmp_ps(s, F(4.75f), _CMP_GT_OQ), tail);
            if (_mm256_movemask_ps(far))
                zt = blend_ps(zt, horner_ps(FI_P32_FAR, FI_P32_FAR_N, _mm256_sub_ps(s, F(6.5f))), far);
            z[j] = blend_ps(z[j], zt, tail);
        }
    }
}

static inline __m256 affine_ps(const fi_params *p, __m256 z) {
    return _mm256_add_ps(F((float)p->loc), _mm256_mul_ps(z, F((float)p->scale)));
}

static inline void normal_ps_v(const fi_params *p, const __m256i k[NV], __m256 out[NV]) {
    __m256 t[NV], q[NV], z[NV], lower[NV];
    VL {
        __m256i sign = _mm256_srai_epi32(k[j], 31);
        __m256i a = _mm256_and_si256(_mm256_xor_si256(k[j], sign), I32(0x7fffffff));
        t[j] = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(a), F(0.5f)), F(0x1p-32f));
        q[j] = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(I32(0x7fffffff), a)), F(0.5f)), F(0x1p-32f));
        lower[j] = _mm256_castsi256_ps(_mm256_cmpeq_epi32(sign, _mm256_setzero_si256()));
    }
    probit_ps_v(t, q, z);
    VL out[j] = affine_ps(p, blend_ps(z[j], neg_ps(z[j]), lower[j]));
}

static inline void trunc_ps_v(const fi_params *p, const __m256i k[NV], __m256 out[NV]) {
    __m256 t[NV], q[NV], z[NV], from_lo[NV];
    const __m256 mass = F((float)p->mass);
    VL {
        __m256i nk = _mm256_xor_si256(k[j], I32(0xffffffffu));
        __m256 u = _mm256_mul_ps(_mm256_add_ps(u32_to_ps(k[j]), F(0.5f)), F(0x1p-32f));
        __m256 v = _mm256_mul_ps(_mm256_add_ps(u32_to_ps(nk), F(0.5f)), F(0x1p-32f));
        __m256 lo = _mm256_add_ps(F((float)p->p_lo), _mm256_mul_ps(u, mass));
        __m256 hi = _mm256_add_ps(F((float)p->p_hi), _mm256_mul_ps(v, mass));
        from_lo[j] = _mm256_cmp_ps(lo, hi, _CMP_LE_OQ);
        t[j] = blend_ps(hi, lo, from_lo[j]);
        q[j] = _mm256_sub_ps(F(0.5f), t[j]);
    }
    probit_ps_v(t, q, z);
    VL out[j] = affine_ps(p, blend_ps(z[j], neg_ps(z[j]), from_lo[j]));
}

/* ---------------- float64 math, 4 lanes ---------------- */

static inline __m256d neg_pd(__m256d x) { return _mm256_xor_pd(x, D(-0.0)); }

static inline __m256d horner_pd(const double *c, int n, __m256d x) {
    __m256d acc = D(c[n - 1]);
    for (int k = n - 2; k >= 0; k--) acc = _mm256_add_pd(_mm256_mul_pd(acc, x), D(c[k]));
    return acc;
}

static inline __m256d log_pd(__m256d x) {
    __m256i b = _mm256_castpd_si256(x);
    __m256i e = _mm256_sub_epi64(_mm256_srli_epi64(b, 52), I64(1023));
    __m256i mb = _mm256_or_si256(_mm256_and_si256(b, I64(0x000fffffffffffffull)), I64(0x3ff0000000000000ull));
    __m256i big = _mm256_cmpgt_epi64(mb, I64(0x3ff7ffffffffffffull));
    mb = _mm256_sub_epi64(mb, _mm256_and_si256(big, I64(0x0010000000000000ull)));
    e = _mm256_sub_epi64(e, big);
    __m256d f = _mm256_sub_pd(_mm256_castsi256_pd(mb), D(1.0));
    __m256d s = _mm256_div_pd(f, _mm256_add_pd(D(2.0), f));
    __m256d s2 = _mm256_mul_pd(s, s);
    __m256d r = D(1.0 / (2 * (FI_LOG_TERMS_F64 - 1) + 1));
    for (int k = FI_LOG_TERMS_F64 - 2; k >= 0; k--) r = _mm256_add_pd(_mm256_mul_pd(r, s2), D(1.0 / (2 * k + 1)));
    __m256d l = _mm256_mul_pd(_mm256_add_pd(s, s), r);
    __m256d ef = small_i64_to_pd(e);
    return _mm256_add_pd(_mm256_mul_pd(ef, D(FI_LN2_HI_F64)), _mm256_add_pd(l, _mm256_mul_pd(ef, D(FI_LN2_LO_F64))));
}

static inline __m256d probit_pd(__m256d t, __m256d q) {
    __m256d r = _mm256_sub_pd(D(0.180625), _mm256_mul_pd(q, q));
    __m256d num = _mm256_mul_pd(q, horner_pd(FI_AS241_A, 8, r));
    __m256d den = horner_pd(FI_AS241_B, 8, r);
    __m256d tail = _mm256_cmp_pd(q, D(0.425), _CMP_GT_OQ);
    if (_mm256_movemask_pd(tail)) {
        __m256d rt = _mm256_sqrt_pd(neg_pd(log_pd(t)));
        __m256d rr = _mm256_sub_pd(rt, D(1.6));
        __m256d tn = horner_pd(FI_AS241_C, 8, rr), td = horner_pd(FI_AS241_D, 8, rr);
        __m256d far = _mm256_and_pd(_mm256_cmp_pd(rt, D(5.0), _CMP_GT_OQ), tail);
        if (_mm256_movemask_pd(far)) {
            __m256d rf = _mm256_sub_pd(rt, D(5.0));
            tn = _mm256_blendv_pd(tn, horner_pd(FI_AS241_E, 8, rf), far);
            td = _mm256_blendv_pd(td, horner_pd(FI_AS241_F, 8, rf), far);
        }
        num = _mm256_blendv_pd(num, tn, tail);
        den = _mm256_blendv_pd(den, td, tail);
    }
    return _mm256_div_pd(num, den);
}

static inline __m256d affine_pd(const fi_params *p, __m256d z) {
    return _mm256_add_pd(D(p->loc), _mm256_mul_pd(z, D(p->scale)));
}

static inline __m256d trunc_pd_uv(const fi_params *p, __m256d u, __m256d v) {
    __m256d lo = _mm256_add_pd(D(p->p_lo), _mm256_mul_pd(u, D(p->mass)));
    __m256d hi = _mm256_add_pd(D(p->p_hi), _mm256_mul_pd(v, D(p->mass)));
    __m256d from_lo = _mm256_cmp_pd(lo, hi, _CMP_LE_OQ);
    __m256d t = _mm256_blendv_pd(hi, lo, from_lo);
    __m256d z = probit_pd(t, _mm256_sub_pd(D(0.5), t));
    return affine_pd(p, _mm256_blendv_pd(z, neg_pd(z), from_lo));
}

static inline __m256d wide_pd(const fi_params *p, __m256i k) {
    __m256d x;
    if (p->dist == FI_UNIFORM) {
        x = affine_pd(p, _mm256_mul_pd(u63_to_pd(_mm256_srli_epi64(k, 11)), D(0x1p-53)));
    } else if (p->dist == FI_NORMAL) {
        __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), k);
        __m256i a = _mm256_and_si256(_mm256_xor_si256(k, sign), I64(0x7fffffffffffffffll));
        __m256d t = _mm256_mul_pd(_mm256_add_pd(u63_to_pd(a), D(0.5)), D(0x1p-64));
        __m256d q = _mm256_mul_pd(_mm256_add_pd(u63_to_pd(_mm256_sub_epi64(I64(0x7fffffffffffffffll), a)), D(0.5)), D(0x1p-64));
        __m256d z = probit_pd(t, q);
        __m256d lower = _mm256_castsi256_pd(_mm256_xor_si256(sign, I64(-1)));
        x = affine_pd(p, _mm256_blendv_pd(z, neg_pd(z), lower));
    } else {
        __m256i nk = _mm256_xor_si256(k, I64(-1));
        __m256d u = _mm256_mul_pd(_mm256_add_pd(u63_to_pd(_mm256_srli_epi64(k, 11)), D(0.5)), D(0x1p-53));
        __m256d v = _mm256_mul_pd(_mm256_add_pd(u63_to_pd(_mm256_srli_epi64(nk, 11)), D(0.5)), D(0x1p-53));
        x = trunc_pd_uv(p, u, v);
    }
    x = _mm256_blendv_pd(x, D(p->clamp_lo), _mm256_cmp_pd(x, D(p->clamp_lo), _CMP_LT_OQ));
    x = _mm256_blendv_pd(x, D(p->clamp_hi), _mm256_cmp_pd(x, D(p->clamp_hi), _CMP_GT_OQ));
    return x;
}

/* truncated normal in float64 from 32-bit words (narrow outputs, far-tail intervals) */
static inline __m256 trunc_ps_wide(const fi_params *p, __m256i k) {
    __m256i nk = _mm256_xor_si256(k, I32(0xffffffffu));
    __m128 half[2];
    for (int h = 0; h < 2; h++) {
        __m256i kh = _mm256_cvtepu32_epi64(h ? _mm256_extracti128_si256(k, 1) : _mm256_castsi256_si128(k));
        __m256i nh = _mm256_cvtepu32_epi64(h ? _mm256_extracti128_si256(nk, 1) : _mm256_castsi256_si128(nk));
        __m256d u = _mm256_mul_pd(_mm256_add_pd(u32lanes_to_pd(kh), D(0.5)), D(0x1p-32));
        __m256d v = _mm256_mul_pd(_mm256_add_pd(u32lanes_to_pd(nh), D(0.5)), D(0x1p-32));
        half[h] = _mm256_cvtpd_ps(trunc_pd_uv(p, u, v));
    }
    return _mm256_set_m128(half[1], half[0]);
}

static inline __m256 clamp_ps(const fi_params *p, __m256 x) {
    __m256 lo = F((float)p->clamp_lo), hi = F((float)p->clamp_hi);
    x = blend_ps(x, lo, _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
    x = blend_ps(x, hi, _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
    return x;
}

static inline void store8(int dtype, void *dst, __m256 x) {
    if (dtype == FI_F32) {
        _mm256_storeu_ps(dst, x);
    } else if (dtype == FI_F16) {
        _mm_storeu_si128((__m128i *)dst, _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    } else {
        __m256i b = _mm256_castps_si256(x);
        __m256i odd = _mm256_and_si256(_mm256_srli_epi32(b, 16), I32(1));
        b = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(b, I32(0x7fff)), odd), 16);
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(b, b), 0x08);  /* lanes 0..7 in order */
        _mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(packed));
    }
}

void fi_groups_avx2(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst) {
    for (int64_t gi = 0; gi < ngroups; gi++) {
        __m256i x[NV];
        philox_group(p, g0 + (uint64_t)gi, x);
        if (p->dtype == FI_F64) {
            double *o = (double *)dst + 32 * gi;
            for (int h = 0; h < 2; h++)                 /* words (2h, 2h+1) -> elements 16h .. 16h+15 */
                for (int half = 0; half < 2; half++)    /* lanes 8*half .. 8*half+7 */
                    for (int qtr = 0; qtr < 2; qtr++) {
                        __m256i lo32 = x[2 * (2 * h) + half], hi32 = x[2 * (2 * h + 1) + half];
                        __m128i l = qtr ? _mm256_extracti128_si256(lo32, 1) : _mm256_castsi256_si128(lo32);
                        __m128i u = qtr ? _mm256_extracti128_si256(hi32, 1) : _mm256_castsi256_si128(hi32);
                        __m256i k = _mm256_or_si256(_mm256_cvtepu32_epi64(l), _mm256_slli_epi64(_mm256_cvtepu32_epi64(u), 32));
                        _mm256_storeu_pd(o + 16 * h + 8 * half + 4 * qtr, wide_pd(p, k));
                    }
            continue;
        }
        __m256 v[NV];
        if (p->dist == FI_UNIFORM) {
            VL v[j] = affine_ps(p, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(x[j], 8)), F(0x1p-24f)));
        } else if (p->dist == FI_NORMAL) {
            normal_ps_v(p, x, v);
        } else if (p->wide) {
            VL v[j] = trunc_ps_wide(p, x[j]);
        } else {
            trunc_ps_v(p, x, v);
        }
        int isz = p->dtype == FI_F32 ? 4 : 2;
        char *o = (char *)dst + (size_t)64 * isz * gi;
        VL store8(p->dtype, o + (size_t)8 * isz * j, clamp_ps(p, v[j]));
    }
}
#endif
