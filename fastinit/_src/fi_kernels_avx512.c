/* AVX-512 path (F, DQ, BW, VL), chosen at run time by fi_best_path().  Each function mirrors its
 * scalar twin in fi_kernels.c operation for operation (same constants, same order, separate
 * multiply and add, compare-and-blend where the scalar code branches), so results are
 * bit-identical; tests/test_determinism.py checks that on every distribution and dtype. */
#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl")
#include <immintrin.h>
#include "fi_kernels.h"

#define F(x) _mm512_set1_ps(x)
#define D(x) _mm512_set1_pd(x)
#define I32(x) _mm512_set1_epi32((int)(x))
#define I64(x) _mm512_set1_epi64((long long)(x))

/* ---------------- Philox4x32-10, 16 blocks at once (one per 32-bit lane) ---------------- */

static inline void mulhilo16(__m512i x, __m512i m, __m512i *hi, __m512i *lo) {
    __m512i even = _mm512_mul_epu32(x, m);                        /* lanes 0,2,..: 64-bit products */
    __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);  /* lanes 1,3,.. */
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
    *lo = _mm512_mullo_epi32(x, m);
}

/* Philox for NG consecutive groups at once: NG independent multiply chains keep the
 * multiplier busy (one chain alone is latency-bound).  Lane l of group g is block 16g + l. */
#define NG 2
static inline void philox16xN(const fi_params *p, uint64_t g, int ng, __m512i x[NG][4]) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m0 = I32(FI_PHILOX_M0), m1 = I32(FI_PHILOX_M1);
    __m512i c0[NG], c1[NG], c2[NG], c3[NG];
    for (int j = 0; j < NG; j++) {
        uint64_t b = 16 * (g + (uint64_t)(j < ng ? j : 0));
        c0[j] = _mm512_add_epi32(I32((uint32_t)b), lane);
        c1[j] = I32((uint32_t)(b >> 32));
        c2[j] = I32(p->stream[0]);
        c3[j] = I32(p->stream[1]);
    }
    uint32_t k0 = p->key[0], k1 = p->key[1];
    for (int round = 0; round < 10; round++) {
        const __m512i kk0 = I32(k0), kk1 = I32(k1);
        for (int j = 0; j < NG; j++) {
            __m512i hi0, lo0, hi1, lo1;
            mulhilo16(c0[j], m0, &hi0, &lo0);
            mulhilo16(c2[j], m1, &hi1, &lo1);
            c0[j] = _mm512_xor_si512(_mm512_xor_si512(hi1, c1[j]), kk0);
            c2[j] = _mm512_xor_si512(_mm512_xor_si512(hi0, c3[j]), kk1);
            c1[j] = lo1;
            c3[j] = lo0;
        }
        k0 += FI_PHILOX_W0; k1 += FI_PHILOX_W1;
    }
    for (int j = 0; j < NG; j++) { x[j][0] = c0[j]; x[j][1] = c1[j]; x[j][2] = c2[j]; x[j][3] = c3[j]; }
}

/* ---------------- float32 math (16 lanes) ---------------- */

static inline __m512 horner16(const float *c, int n, __m512 x) {
    __m512 acc = F(c[n - 1]);
    for (int k = n - 2; k >= 0; k--) acc = _mm512_add_ps(_mm512_mul_ps(acc, x), F(c[k]));
    return acc;
}

/* The narrow path works on the 4 words of a group (4 x 16 lanes) at once: each step below
 * loops over the 4 vectors, giving the CPU four independent dependency chains (log, Horner)
 * to overlap.  Per lane, the operations are exactly those of the scalar reference. */
#define V4 for (int j = 0; j < 4; j++)

static inline void horner16x4(const float *c, int n, const __m512 x[4], __m512 acc[4]) {
    V4 acc[j] = F(c[n - 1]);
    for (int k = n - 2; k >= 0; k--) {
        const __m512 ck = F(c[k]);
        V4 acc[j] = _mm512_add_ps(_mm512_mul_ps(acc[j], x[j]), ck);
    }
}

static inline __m512 neg16(__m512 x) { return _mm512_xor_ps(x, F(-0.0f)); }

/* natural log of positive normal floats: x = 2^e m, m in [0.75, 1.5) (as log_f32) */
static inline void log16x4(const __m512 x[4], __m512 out[4]) {
    __m512 s[4], s2[4], ef[4], r[4];
    V4 {
        __m512i b = _mm512_castps_si512(x[j]);
        __m512i e = _mm512_sub_epi32(_mm512_srli_epi32(b, 23), I32(127));
        __m512i mb = _mm512_or_si512(_mm512_and_si512(b, I32(0x007fffffu)), I32(0x3f800000u));
        __mmask16 big = _mm512_cmpge_epu32_mask(mb, I32(0x3fc00000u));
        mb = _mm512_mask_sub_epi32(mb, big, mb, I32(0x00800000u));
        e = _mm512_mask_add_epi32(e, big, e, I32(1));
        __m512 f = _mm512_sub_ps(_mm512_castsi512_ps(mb), F(1.0f));
        s[j] = _mm512_div_ps(f, _mm512_add_ps(F(2.0f), f));
        s2[j] = _mm512_mul_ps(s[j], s[j]);
        ef[j] = _mm512_cvtepi32_ps(e);
        r[j] = F(1.0f / (2 * (FI_LOG_TERMS_F32 - 1) + 1));
    }
    for (int k = FI_LOG_TERMS_F32 - 2; k >= 0; k--) {
        const __m512 ck = F(1.0f / (2 * k + 1));
        V4 r[j] = _mm512_add_ps(_mm512_mul_ps(r[j], s2[j]), ck);
    }
    V4 {
        __m512 l = _mm512_mul_ps(_mm512_add_ps(s[j], s[j]), r[j]);
        out[j] = _mm512_add_ps(_mm512_mul_ps(ef[j], F((float)FI_LN2_HI_F32)),
                               _mm512_add_ps(l, _mm512_mul_ps(ef[j], F((float)FI_LN2_LO_F32))));
    }
}

/* z >= 0 with Phi(z) = 1 - t (as probit_upper_f32) */
static inline void probit_upper16x4(const __m512 t[4], const __m512 q[4], __m512 z[4]) {
    __m512 y[4], w[4], x[4];
    V4 y[j] = _mm512_mul_ps(_mm512_mul_ps(t[j], F(4.0f)), _mm512_add_ps(F(0.5f), q[j]));
    log16x4(y, w);
    V4 { w[j] = neg16(w[j]); x[j] = _mm512_sub_ps(w[j], F(2.5f)); }
    horner16x4(FI_P32_CENTRAL, FI_P32_CENTRAL_N, x, z);
    V4 {
        z[j] = _mm512_mul_ps(q[j], z[j]);
        __mmask16 tail = _mm512_cmp_ps_mask(w[j], F(5.0f), _CMP_GT_OQ);
        if (tail) {   /* rare: about 5% of vectors for a plain normal */
            __m512 s = _mm512_sqrt_ps(w[j]);
            __m512 zt = horner16(FI_P32_TAIL, FI_P32_TAIL_N, _mm512_sub_ps(s, F(3.5f)));
            __mmask16 far = _mm512_cmp_ps_mask(s, F(4.75f), _CMP_GT_OQ) & tail;
            if (far) zt = _mm512_mask_blend_ps(far, zt, horner16(FI_P32_FAR, FI_P32_FAR_N, _mm512_sub_ps(s, F(6.5f))));
            z[j] = _mm512_mask_blend_ps(tail, z[j], zt);
        }
    }
}

static inline __m512 affine16(const fi_params *p, __m512 z) {
    return _mm512_add_ps(F((float)p->loc), _mm512_mul_ps(z, F((float)p->scale)));
}

static inline __m512 uniform16(const fi_params *p, __m512i k) {
    __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(k, 8)), F(0x1p-24f));
    return affine16(p, u);
}

static inline void normal16x4(const fi_params *p, const __m512i k[4], __m512 out[4]) {
    __m512 t[4], q[4], z[4];
    __mmask16 lower[4];
    V4 {
        __m512i sign = _mm512_srai_epi32(k[j], 31);
        __m512i a = _mm512_and_si512(_mm512_xor_si512(k[j], sign), I32(0x7fffffff));
        t[j] = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(a), F(0.5f)), F(0x1p-32f));
        q[j] = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(I32(0x7fffffff), a)), F(0.5f)), F(0x1p-32f));
        lower[j] = _mm512_cmpeq_epi32_mask(sign, _mm512_setzero_si512());
    }
    probit_upper16x4(t, q, z);
    V4 out[j] = affine16(p, _mm512_mask_blend_ps(lower[j], z[j], neg16(z[j])));
}

static inline void trunc16x4(const fi_params *p, const __m512i k[4], __m512 out[4]) {
    __m512 t[4], q[4], z[4];
    __mmask16 from_lo[4];
    const __m512 mass = F((float)p->mass);
    V4 {
        __m512i nk = _mm512_xor_si512(k[j], I32(0xffffffffu));
        __m512 u = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepu32_ps(k[j]), F(0.5f)), F(0x1p-32f));
        __m512 v = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepu32_ps(nk), F(0.5f)), F(0x1p-32f));
        __m512 lo = _mm512_add_ps(F((float)p->p_lo), _mm512_mul_ps(u, mass));
        __m512 hi = _mm512_add_ps(F((float)p->p_hi), _mm512_mul_ps(v, mass));
        from_lo[j] = _mm512_cmp_ps_mask(lo, hi, _CMP_LE_OQ);
        t[j] = _mm512_mask_blend_ps(from_lo[j], hi, lo);
        q[j] = _mm512_sub_ps(F(0.5f), t[j]);
    }
    probit_upper16x4(t, q, z);
    V4 out[j] = affine16(p, _mm512_mask_blend_ps(from_lo[j], z[j], neg16(z[j])));
}

static inline __m512 clamp16(const fi_params *p, __m512 x) {
    __m512 lo = F((float)p->clamp_lo), hi = F((float)p->clamp_hi);
    x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), x, lo);
    x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), x, hi);
    return x;
}

/* ---------------- float64 math (8 lanes) ---------------- */

static inline __m512d horner8(const double *c, int n, __m512d x) {
    __m512d acc = D(c[n - 1]);
    for (int k = n - 2; k >= 0; k--) acc = _mm512_add_pd(_mm512_mul_pd(acc, x), D(c[k]));
    return acc;
}

static inline __m512d neg8(__m512d x) { return _mm512_xor_pd(x, D(-0.0)); }

static inline __m512d log8(__m512d x) {
    __m512i b = _mm512_castpd_si512(x);
    __m512i e = _mm512_sub_epi64(_mm512_srli_epi64(b, 52), I64(1023));
    __m512i mb = _mm512_or_si512(_mm512_and_si512(b, I64(0x000fffffffffffffull)), I64(0x3ff0000000000000ull));
    __mmask8 big = _mm512_cmpge_epu64_mask(mb, I64(0x3ff8000000000000ull));
    mb = _mm512_mask_sub_epi64(mb, big, mb, I64(0x0010000000000000ull));
    e = _mm512_mask_add_epi64(e, big, e, I64(1));
    __m512d f = _mm512_sub_pd(_mm512_castsi512_pd(mb), D(1.0));
    __m512d s = _mm512_div_pd(f, _mm512_add_pd(D(2.0), f));
    __m512d s2 = _mm512_mul_pd(s, s);
    __m512d r = D(1.0 / (2 * (FI_LOG_TERMS_F64 - 1) + 1));
    for (int k = FI_LOG_TERMS_F64 - 2; k >= 0; k--) r = _mm512_add_pd(_mm512_mul_pd(r, s2), D(1.0 / (2 * k + 1)));
    __m512d l = _mm512_mul_pd(_mm512_add_pd(s, s), r);
    __m512d ef = _mm512_cvtepi64_pd(e);
    return _mm512_add_pd(_mm512_mul_pd(ef, D(FI_LN2_HI_F64)), _mm512_add_pd(l, _mm512_mul_pd(ef, D(FI_LN2_LO_F64))));
}

/* The float64 path, like the float32 one, works on the 4 vectors of a group at once. */
static inline void horner8x4(const double *c, int n, const __m512d x[4], __m512d acc[4]) {
    V4 acc[j] = D(c[n - 1]);
    for (int k = n - 2; k >= 0; k--) {
        const __m512d ck = D(c[k]);
        V4 acc[j] = _mm512_add_pd(_mm512_mul_pd(acc[j], x[j]), ck);
    }
}

static inline void probit_upper8x4(const __m512d t[4], const __m512d q[4], __m512d z[4]) {
    __m512d r[4], num[4], den[4];
    __mmask8 tail[4], any_tail = 0;
    V4 r[j] = _mm512_sub_pd(D(0.180625), _mm512_mul_pd(q[j], q[j]));
    horner8x4(FI_AS241_A, 8, r, num);
    horner8x4(FI_AS241_B, 8, r, den);
    V4 {
        num[j] = _mm512_mul_pd(q[j], num[j]);
        tail[j] = _mm512_cmp_pd_mask(q[j], D(0.425), _CMP_GT_OQ);
        any_tail |= tail[j];
    }
    if (any_tail) {
        __m512d rt[4], rr[4], tn[4], td[4];
        V4 { rt[j] = _mm512_sqrt_pd(neg8(log8(t[j]))); rr[j] = _mm512_sub_pd(rt[j], D(1.6)); }
        horner8x4(FI_AS241_C, 8, rr, tn);
        horner8x4(FI_AS241_D, 8, rr, td);
        V4 {
            __mmask8 far = _mm512_cmp_pd_mask(rt[j], D(5.0), _CMP_GT_OQ) & tail[j];
            if (far) {
                __m512d rf = _mm512_sub_pd(rt[j], D(5.0));
                tn[j] = _mm512_mask_blend_pd(far, tn[j], horner8(FI_AS241_E, 8, rf));
                td[j] = _mm512_mask_blend_pd(far, td[j], horner8(FI_AS241_F, 8, rf));
            }
            num[j] = _mm512_mask_blend_pd(tail[j], num[j], tn[j]);
            den[j] = _mm512_mask_blend_pd(tail[j], den[j], td[j]);
        }
    }
    V4 z[j] = _mm512_div_pd(num[j], den[j]);
}

static inline __m512d affine8(const fi_params *p, __m512d z) {
    return _mm512_add_pd(D(p->loc), _mm512_mul_pd(z, D(p->scale)));
}

/* t (the nearer tail probability), q = 1/2 - t and the side of a truncated-normal draw, as
 * trunc_f64_from in the reference */
static inline void trunc_prep8(const fi_params *p, __m512d u, __m512d v, __m512d *t, __m512d *q, __mmask8 *from_lo) {
    __m512d lo = _mm512_add_pd(D(p->p_lo), _mm512_mul_pd(u, D(p->mass)));
    __m512d hi = _mm512_add_pd(D(p->p_hi), _mm512_mul_pd(v, D(p->mass)));
    *from_lo = _mm512_cmp_pd_mask(lo, hi, _CMP_LE_OQ);
    *t = _mm512_mask_blend_pd(*from_lo, hi, lo);
    *q = _mm512_sub_pd(D(0.5), *t);
}

/* 64-bit words (float64 output), the 4 vectors of a group at once */
static inline void wide8x4(const fi_params *p, const __m512i k[4], __m512d x[4]) {
    if (p->dist == FI_UNIFORM) {
        V4 x[j] = affine8(p, _mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_srli_epi64(k[j], 11)), D(0x1p-53)));
    } else {
        __m512d t[4], q[4], z[4];
        __mmask8 neg[4];
        V4 {
            if (p->dist == FI_NORMAL) {
                __m512i sign = _mm512_srai_epi64(k[j], 63);
                __m512i a = _mm512_and_si512(_mm512_xor_si512(k[j], sign), I64(0x7fffffffffffffffll));
                t[j] = _mm512_mul_pd(_mm512_add_pd(_mm512_cvtepi64_pd(a), D(0.5)), D(0x1p-64));
                q[j] = _mm512_mul_pd(_mm512_add_pd(_mm512_cvtepi64_pd(_mm512_sub_epi64(I64(0x7fffffffffffffffll), a)), D(0.5)), D(0x1p-64));
                neg[j] = _mm512_cmpeq_epi64_mask(sign, _mm512_setzero_si512());
            } else {
                __m512i nk = _mm512_xor_si512(k[j], I64(-1));
                __m512d u = _mm512_mul_pd(_mm512_add_pd(_mm512_cvtepi64_pd(_mm512_srli_epi64(k[j], 11)), D(0.5)), D(0x1p-53));
                __m512d v = _mm512_mul_pd(_mm512_add_pd(_mm512_cvtepi64_pd(_mm512_srli_epi64(nk, 11)), D(0.5)), D(0x1p-53));
                trunc_prep8(p, u, v, &t[j], &q[j], &neg[j]);
            }
        }
        probit_upper8x4(t, q, z);
        V4 x[j] = affine8(p, _mm512_mask_blend_pd(neg[j], z[j], neg8(z[j])));
    }
    V4 {
        x[j] = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x[j], D(p->clamp_lo), _CMP_LT_OQ), x[j], D(p->clamp_lo));
        x[j] = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x[j], D(p->clamp_hi), _CMP_GT_OQ), x[j], D(p->clamp_hi));
    }
}

/* truncated normal in float64 from 32-bit words (narrow outputs, far-tail intervals): two
 * passes of 2 words x 2 halves = 4 vectors of 8 doubles */
static inline void trunc16x4_wide(const fi_params *p, const __m512i k[4], __m512 out[4]) {
    for (int pass = 0; pass < 2; pass++) {
        __m512d t[4], q[4], z[4];
        __mmask8 from_lo[4];
        __m256 half[4];
        V4 {
            __m512i kw = k[2 * pass + j / 2], nkw = _mm512_xor_si512(kw, I32(0xffffffffu));
            __m256i kh = (j % 2) ? _mm512_extracti64x4_epi64(kw, 1) : _mm512_castsi512_si256(kw);
            __m256i nh = (j % 2) ? _mm512_extracti64x4_epi64(nkw, 1) : _mm512_castsi512_si256(nkw);
            __m512d u = _mm512_mul_pd(_mm512_add_pd(_mm512_cvtepu32_pd(kh), D(0.5)), D(0x1p-32));
            __m512d v = _mm512_mul_pd(_mm512_add_pd(_mm512_cvtepu32_pd(nh), D(0.5)), D(0x1p-32));
            trunc_prep8(p, u, v, &t[j], &q[j], &from_lo[j]);
        }
        probit_upper8x4(t, q, z);
        V4 half[j] = _mm512_cvtpd_ps(affine8(p, _mm512_mask_blend_pd(from_lo[j], z[j], neg8(z[j]))));
        out[2 * pass] = _mm512_insertf32x8(_mm512_castps256_ps512(half[0]), half[1], 1);
        out[2 * pass + 1] = _mm512_insertf32x8(_mm512_castps256_ps512(half[2]), half[3], 1);
    }
}

static inline void narrow16x4(const fi_params *p, const __m512i k[4], __m512 x[4]) {
    if (p->dist == FI_UNIFORM) { V4 x[j] = uniform16(p, k[j]); }
    else if (p->dist == FI_NORMAL) normal16x4(p, k, x);
    else if (p->wide) trunc16x4_wide(p, k, x);
    else trunc16x4(p, k, x);
    V4 x[j] = clamp16(p, x[j]);
}

static inline void store16(int dtype, void *dst, __m512 x) {
    if (dtype == FI_F32) {
        _mm512_storeu_ps(dst, x);
    } else if (dtype == FI_F16) {
        _mm256_storeu_si256((__m256i *)dst, _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    } else {
        __m512i b = _mm512_castps_si512(x);
        __m512i odd = _mm512_and_si512(_mm512_srli_epi32(b, 16), I32(1));
        b = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(b, I32(0x7fff)), odd), 16);
        _mm256_storeu_si256((__m256i *)dst, _mm512_cvtepi32_epi16(b));
    }
}

static inline void store_group(const fi_params *p, __m512i x[4], void *dst) {
    if (p->dtype == FI_F64) {
        __m512i k[4];
        __m512d v[4];
        for (int h = 0; h < 2; h++)             /* words (2h, 2h+1) -> elements 16h .. 16h+15 */
            for (int half = 0; half < 2; half++) {
                __m256i lo = half ? _mm512_extracti64x4_epi64(x[2 * h], 1) : _mm512_castsi512_si256(x[2 * h]);
                __m256i hi = half ? _mm512_extracti64x4_epi64(x[2 * h + 1], 1) : _mm512_castsi512_si256(x[2 * h + 1]);
                k[2 * h + half] = _mm512_or_si512(_mm512_cvtepu32_epi64(lo), _mm512_slli_epi64(_mm512_cvtepu32_epi64(hi), 32));
            }
        wide8x4(p, k, v);
        V4 _mm512_storeu_pd((double *)dst + 8 * j, v[j]);
        return;
    }
    int isz = p->dtype == FI_F32 ? 4 : 2;
    __m512 v[4];
    narrow16x4(p, x, v);
    for (int w = 0; w < 4; w++) store16(p->dtype, (char *)dst + (size_t)16 * isz * w, v[w]);
}

void fi_groups_avx512(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst) {
    const size_t group_bytes = p->dtype == FI_F64 ? 32 * 8 : 64 * (p->dtype == FI_F32 ? 4 : 2);
    for (int64_t gi = 0; gi < ngroups; gi += NG) {
        int ng = ngroups - gi < NG ? (int)(ngroups - gi) : NG;
        __m512i x[NG][4];
        philox16xN(p, g0 + (uint64_t)gi, ng, x);
        for (int j = 0; j < ng; j++) store_group(p, x[j], (char *)dst + group_bytes * (size_t)(gi + j));
    }
}
#endif
