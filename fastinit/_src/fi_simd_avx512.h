/* Vector primitives for fi_math.h: AVX-512 (F, DQ, BW, VL), 16 float / 8 double lanes.
 * Include after `#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl")`. */
#ifndef FI_SIMD_AVX512_H
#define FI_SIMD_AVX512_H
#include <immintrin.h>
#include <stdint.h>

typedef __m512 vf;
typedef __m512i vi;
typedef __mmask16 mf;
typedef __m512d vd;
typedef __m512i vl;
typedef __mmask8 md;

#define FI_FL 16
#define FI_DL 8
#define FI_NBF 8        /* vectors of two groups at once: independent chains to overlap */
#define FI_NBD 8

static inline vf f_set(float x) { return _mm512_set1_ps(x); }
static inline vf f_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf f_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf f_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf f_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf f_sqrt(vf a) { return _mm512_sqrt_ps(a); }
static inline vf f_neg(vf a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
static inline mf f_lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline mf f_le(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
static inline mf f_gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline mf f_gt_finite(vf a, vf b) { return f_gt(a, b); }   /* a, b finite */
static inline vf f_blend(mf m, vf a, vf b) { return _mm512_mask_blend_ps(m, a, b); }
/* x < lo ? lo : x and x > hi ? hi : x: maxps/minps return their second operand on NaN and ties */
/* -x where m (the sign bit flipped, as f_neg), else x */
static inline vf f_neg_where(mf m, vf x) { return _mm512_mask_xor_ps(x, m, x, _mm512_set1_ps(-0.0f)); }
static inline vf f_atleast(vf x, vf lo) { return _mm512_max_ps(lo, x); }
static inline vf f_atmost(vf x, vf hi) { return _mm512_min_ps(hi, x); }
static inline vi f_bits(vf a) { return _mm512_castps_si512(a); }
static inline vf i_as_f(vi a) { return _mm512_castsi512_ps(a); }
static inline int mf_any(mf m) { return m != 0; }
static inline mf mf_and(mf a, mf b) { return a & b; }

static inline vi i_set(uint32_t x) { return _mm512_set1_epi32((int)x); }
static inline vi i_add(vi a, vi b) { return _mm512_add_epi32(a, b); }
static inline vi i_sub(vi a, vi b) { return _mm512_sub_epi32(a, b); }
static inline vi i_and(vi a, vi b) { return _mm512_and_si512(a, b); }
static inline vi i_or(vi a, vi b) { return _mm512_or_si512(a, b); }
static inline vi i_xor(vi a, vi b) { return _mm512_xor_si512(a, b); }
static inline vi i_srl(vi a, int n) { return _mm512_srli_epi32(a, n); }
static inline vi i_sign(vi a) { return _mm512_srai_epi32(a, 31); }
static inline mf i_eq(vi a, vi b) { return _mm512_cmpeq_epi32_mask(a, b); }
static inline mf i_signbit(vi a) { return _mm512_movepi32_mask(a); }   /* lanes with the top bit set */
static inline mf i_gt(vi a, vi b) { return _mm512_cmpgt_epi32_mask(a, b); }
static inline vi i_blend(mf m, vi a, vi b) { return _mm512_mask_blend_epi32(m, a, b); }
static inline vf i_to_f(vi a) { return _mm512_cvtepi32_ps(a); }
static inline vf u_to_f(vi a) { return _mm512_cvtepu32_ps(a); }
static inline void u_to_f_and_not(vi a, vf *u, vf *v) {   /* u_to_f of a and of ~a */
    *u = _mm512_cvtepu32_ps(a);
    *v = _mm512_cvtepu32_ps(_mm512_xor_si512(a, _mm512_set1_epi32(-1)));
}

static inline vf f_lookup8(const float *tab, vi idx) {   /* tab[idx], idx in [0, 8) */
    return _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(_mm256_loadu_ps(tab)));
}
static inline vd d_set(double x) { return _mm512_set1_pd(x); }
static inline vd d_add(vd a, vd b) { return _mm512_add_pd(a, b); }
static inline vd d_sub(vd a, vd b) { return _mm512_sub_pd(a, b); }
static inline vd d_mul(vd a, vd b) { return _mm512_mul_pd(a, b); }
static inline vd d_div(vd a, vd b) { return _mm512_div_pd(a, b); }
static inline vd d_sqrt(vd a) { return _mm512_sqrt_pd(a); }
static inline vd d_neg(vd a) { return _mm512_xor_pd(a, _mm512_set1_pd(-0.0)); }
static inline md d_lt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
static inline md d_le(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
static inline md d_gt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
static inline vd d_blend(md m, vd a, vd b) { return _mm512_mask_blend_pd(m, a, b); }
static inline vd d_neg_where(md m, vd x) { return _mm512_mask_xor_pd(x, m, x, _mm512_set1_pd(-0.0)); }
static inline vd d_atleast(vd x, vd lo) { return _mm512_max_pd(lo, x); }
static inline vd d_atmost(vd x, vd hi) { return _mm512_min_pd(hi, x); }
static inline vl d_bits(vd a) { return _mm512_castpd_si512(a); }
static inline vd l_as_d(vl a) { return _mm512_castsi512_pd(a); }
static inline int md_any(md m) { return m != 0; }
static inline md md_and(md a, md b) { return a & b; }

static inline vl l_set(uint64_t x) { return _mm512_set1_epi64((long long)x); }
static inline vl l_add(vl a, vl b) { return _mm512_add_epi64(a, b); }
static inline vl l_sub(vl a, vl b) { return _mm512_sub_epi64(a, b); }
static inline vl l_and(vl a, vl b) { return _mm512_and_si512(a, b); }
static inline vl l_or(vl a, vl b) { return _mm512_or_si512(a, b); }
static inline vl l_xor(vl a, vl b) { return _mm512_xor_si512(a, b); }
static inline vl l_srl(vl a, int n) { return _mm512_srli_epi64(a, n); }
static inline vl l_sign(vl a) { return _mm512_srai_epi64(a, 63); }
static inline md l_eq(vl a, vl b) { return _mm512_cmpeq_epi64_mask(a, b); }
static inline md l_gt(vl a, vl b) { return _mm512_cmpgt_epi64_mask(a, b); }
static inline vl l_blend(md m, vl a, vl b) { return _mm512_mask_blend_epi64(m, a, b); }
static inline vd l_to_d(vl a) { return _mm512_cvtepi64_pd(a); }
static inline vd l_small_to_d(vl a) { return _mm512_cvtepi64_pd(a); }

#define FI_DPF 2
static inline vd i_part_to_d(vi k, int part) {
    __m256i h = part ? _mm512_extracti64x4_epi64(k, 1) : _mm512_castsi512_si256(k);
    return _mm512_cvtepu32_pd(h);
}
static inline vf d_parts_to_f(const vd *parts) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(parts[0])), _mm512_cvtpd_ps(parts[1]), 1);
}
/* 64-bit lanes from part `part` of lo (low halves) and hi (high halves), as i_part_to_d */
static inline vl l_join(vi lo, vi hi, int part) {
    __m256i l = part ? _mm512_extracti64x4_epi64(lo, 1) : _mm512_castsi512_si256(lo);
    __m256i u = part ? _mm512_extracti64x4_epi64(hi, 1) : _mm512_castsi512_si256(hi);
    return _mm512_or_si512(_mm512_cvtepu32_epi64(l), _mm512_slli_epi64(_mm512_cvtepu32_epi64(u), 32));
}

static inline void f_store(float *dst, vf x) { _mm512_storeu_ps(dst, x); }
/* a non-temporal (past the caches) store, dst 16-byte aligned: the widest stream stores dst's
 * alignment allows (numpy's large arrays are 16 mod 64) */
static inline void f_stream(float *dst, vf x) {
    const uintptr_t a = (uintptr_t)dst;
    if ((a & 63) == 0) {
        _mm512_stream_ps(dst, x);
    } else if ((a & 31) == 0) {
        _mm256_stream_ps(dst, _mm512_castps512_ps256(x));
        _mm256_stream_ps(dst + 8, _mm512_extractf32x8_ps(x, 1));
    } else {
        _mm_stream_ps(dst, _mm512_castps512_ps128(x));
        _mm_stream_ps(dst + 4, _mm512_extractf32x4_ps(x, 1));
        _mm_stream_ps(dst + 8, _mm512_extractf32x4_ps(x, 2));
        _mm_stream_ps(dst + 12, _mm512_extractf32x4_ps(x, 3));
    }
}
static inline void f_stream_fence(void) { _mm_sfence(); }
static inline void f_store_f16(uint16_t *dst, vf x) {
    _mm256_storeu_si256((__m256i *)dst, _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
static inline void i_store_u16(uint16_t *dst, vi x) { _mm256_storeu_si256((__m256i *)dst, _mm512_cvtepi32_epi16(x)); }
static inline void d_store(double *dst, vd x) { _mm512_storeu_pd(dst, x); }
static inline vd d_load(const double *src) { return _mm512_loadu_pd(src); }

/* Lane compaction, in registers: a "stream" P[0], P[1], .. of packed lanes.  d_pack appends the
 * lanes of m of x at stream position c (returns the new length); d_unpack gives x with the lanes
 * of m replaced, in order, by the stream from position c.  P needs room for c / 8 + 2 vectors. */
#define FI_COMPACT 1
static inline int md_count(md m) { return __builtin_popcount(m); }
static inline int d_pack(vd *P, int c, md m, vd x) {
    const int r = c & 7, k = c >> 3;
    const __m512i iota = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    __m512i rot = _mm512_and_si512(_mm512_sub_epi64(iota, _mm512_set1_epi64(r)), _mm512_set1_epi64(7));
    vd R = _mm512_permutexvar_pd(rot, _mm512_maskz_compress_pd(m, x));   /* packed lanes from lane r on */
    P[k] = _mm512_mask_blend_pd((__mmask8)(0xFFu << r), P[k], R);
    P[k + 1] = R;                                                        /* (the overflow, if any) */
    return c + md_count(m);
}
static inline vd d_unpack(const vd *P, int c, md m, vd x) {
    const int r = c & 7, k = c >> 3;
    __m512i idx = _mm512_add_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_epi64(r));
    return _mm512_mask_expand_pd(x, m, _mm512_permutex2var_pd(P[k], idx, P[k + 1]));
}
#endif
