/* Vector primitives for fi_math.h: AVX2 (+F16C), 8 float / 4 double lanes.  Masks are vectors
 * whose lanes' sign bits are the mask: every use (blendv, movemask, an and with -0.0 or another
 * mask) reads that bit alone, so comparisons give all-ones lanes but f_gt_finite and i_signbit
 * can give any lane with the right sign bit, without a compare on ports 0/1.  AVX2 lacks unsigned and 64-bit conversions and 64-bit arithmetic shifts;
 * they are rebuilt below from exact pieces, each rounding once to nearest even like the scalar
 * conversion.  Include after `#pragma GCC target("avx2,f16c")`. */
#ifndef FI_SIMD_AVX2_H
#define FI_SIMD_AVX2_H
#include <immintrin.h>
#include <stdint.h>

typedef __m256 vf;
typedef __m256i vi;
typedef __m256i mf;
typedef __m256d vd;
typedef __m256i vl;
typedef __m256i md;

#define FI_FL 8
#define FI_DL 4
#define FI_NBF 8        /* a group's 8 vectors at once */
#define FI_NBD 4        /* four vectors at once, for the tail compaction below */

static inline vf f_set(float x) { return _mm256_set1_ps(x); }
static inline vf f_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf f_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf f_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf f_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf f_sqrt(vf a) { return _mm256_sqrt_ps(a); }
static inline vf f_neg(vf a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
static inline mf f_lt(vf a, vf b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
static inline mf f_le(vf a, vf b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_LE_OQ)); }
static inline mf f_gt(vf a, vf b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
/* a > b for finite a, b: b - a is negative exactly then (with gradual underflow, which every
 * step here assumes, a difference of unequal finite floats never rounds to zero; equal ones
 * give +0) */
static inline mf f_gt_finite(vf a, vf b) { return _mm256_castps_si256(_mm256_sub_ps(b, a)); }
static inline vf f_blend(mf m, vf a, vf b) { return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(m)); }
/* x < lo ? lo : x and x > hi ? hi : x: maxps/minps return their second operand on NaN and ties */
/* -x where m (the sign bit flipped, as f_neg), else x */
static inline vf f_neg_where(mf m, vf x) { return _mm256_xor_ps(x, _mm256_and_ps(_mm256_castsi256_ps(m), _mm256_set1_ps(-0.0f))); }
static inline vf f_atleast(vf x, vf lo) { return _mm256_max_ps(lo, x); }
static inline vf f_atmost(vf x, vf hi) { return _mm256_min_ps(hi, x); }
static inline vi f_bits(vf a) { return _mm256_castps_si256(a); }
static inline vf i_as_f(vi a) { return _mm256_castsi256_ps(a); }
static inline int mf_any(mf m) { return _mm256_movemask_ps(_mm256_castsi256_ps(m)) != 0; }
static inline mf mf_and(mf a, mf b) { return _mm256_and_si256(a, b); }

static inline vi i_set(uint32_t x) { return _mm256_set1_epi32((int)x); }
static inline vi i_add(vi a, vi b) { return _mm256_add_epi32(a, b); }
static inline vi i_sub(vi a, vi b) { return _mm256_sub_epi32(a, b); }
static inline vi i_and(vi a, vi b) { return _mm256_and_si256(a, b); }
static inline vi i_or(vi a, vi b) { return _mm256_or_si256(a, b); }
static inline vi i_xor(vi a, vi b) { return _mm256_xor_si256(a, b); }
static inline vi i_srl(vi a, int n) { return _mm256_srli_epi32(a, n); }
static inline vi i_sign(vi a) { return _mm256_srai_epi32(a, 31); }
static inline mf i_eq(vi a, vi b) { return _mm256_cmpeq_epi32(a, b); }
static inline mf i_signbit(vi a) { return a; }   /* lanes with the top bit set: a itself, as a mask */
static inline mf i_gt(vi a, vi b) { return _mm256_cmpgt_epi32(a, b); }
static inline vi i_blend(mf m, vi a, vi b) {
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), _mm256_castsi256_ps(m)));
}
static inline vf i_to_f(vi a) { return _mm256_cvtepi32_ps(a); }
static inline vf u_to_f(vi a) {     /* hi * 65536 is exact, so the add is the one rounding */
    vf hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(a, 16)), _mm256_set1_ps(65536.0f));
    return _mm256_add_ps(hi, _mm256_cvtepi32_ps(_mm256_and_si256(a, _mm256_set1_epi32(0xffff))));
}
/* u_to_f of a and of ~a, by the same exact pieces, with the conversions as bit operations (off
 * ports 0/1, which the multiplies and the Philox rounds keep busy): with a = 2^16 h + l,
 * P = bits(2^39 + 2^16 h) - (2^39 + 2^23) = 2^16 h - 2^23 and Q = bits(2^23 + l) are exact, and
 * a = P + Q rounds once.  ~a's halves are 65535 - h and 65535 - l: its pieces are exact differences
 * of these, and again one add rounds (three operations for ~a instead of seven). */
static inline void u_to_f_and_not(vi a, vf *u, vf *v) {
    vf P = _mm256_sub_ps(_mm256_castsi256_ps(_mm256_or_si256(_mm256_srli_epi32(a, 16), _mm256_set1_epi32(0x53000000))),
                         _mm256_set1_ps(0x1p39f + 0x1p23f));
    vf Q = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(a, _mm256_set1_epi32(0xffff)), _mm256_set1_epi32(0x4b000000)));
    *u = _mm256_add_ps(P, Q);
    /* 2^16 (65535 - h) = (2^32 - 2^16 - 2^23) - P and 65535 - l = (2^23 + 65535) - Q */
    *v = _mm256_add_ps(_mm256_sub_ps(_mm256_set1_ps(0x1p32f - 0x1p16f - 0x1p23f), P), _mm256_sub_ps(_mm256_set1_ps(0x1p23f + 65535.0f), Q));
}

/* u_to_f by u_to_f_and_not's exact pieces (bit operations and one rounding add); Q's bits as
 * one word blend (port 5) of a's low 16 bits into 0x4b00xxxx instead of an and and an or */
static inline vf u_to_f_bits(vi a) {
    vf P = _mm256_sub_ps(_mm256_castsi256_ps(_mm256_or_si256(_mm256_srli_epi32(a, 16), _mm256_set1_epi32(0x53000000))),
                         _mm256_set1_ps(0x1p39f + 0x1p23f));
    vf Q = _mm256_castsi256_ps(_mm256_blend_epi16(_mm256_set1_epi32(0x4b000000), a, 0x55));
    return _mm256_add_ps(P, Q);
}
/* a ^ ~0 (i.e. ~a) where m, m a full-lane mask (a comparison's) */
static inline vi i_xor_where(mf m, vi a) { return _mm256_xor_si256(a, m); }
/* tab's lane 7 where m (a full-lane mask), else its lane 0: one permute (port 5), which reads
 * the low 3 bits of each lane of m */
static inline vf f_pick07(mf m, vf tab) { return _mm256_permutevar8x32_ps(tab, m); }
/* (u_to_f_bits, i_xor_where and f_pick07: what fi_math.h's trunc_side_fv needs beyond the rest) */
#define FI_SIMD_HAS_SIDE_OPS 1

static inline vf f_lookup8(const float *tab, vi idx) { return _mm256_permutevar8x32_ps(_mm256_loadu_ps(tab), idx); }
static inline vd d_set(double x) { return _mm256_set1_pd(x); }
static inline vd d_add(vd a, vd b) { return _mm256_add_pd(a, b); }
static inline vd d_sub(vd a, vd b) { return _mm256_sub_pd(a, b); }
static inline vd d_mul(vd a, vd b) { return _mm256_mul_pd(a, b); }
static inline vd d_div(vd a, vd b) { return _mm256_div_pd(a, b); }
static inline vd d_sqrt(vd a) { return _mm256_sqrt_pd(a); }
static inline vd d_neg(vd a) { return _mm256_xor_pd(a, _mm256_set1_pd(-0.0)); }
static inline md d_lt(vd a, vd b) { return _mm256_castpd_si256(_mm256_cmp_pd(a, b, _CMP_LT_OQ)); }
static inline md d_le(vd a, vd b) { return _mm256_castpd_si256(_mm256_cmp_pd(a, b, _CMP_LE_OQ)); }
static inline md d_gt(vd a, vd b) { return _mm256_castpd_si256(_mm256_cmp_pd(a, b, _CMP_GT_OQ)); }
static inline vd d_blend(md m, vd a, vd b) { return _mm256_blendv_pd(a, b, _mm256_castsi256_pd(m)); }
static inline vd d_neg_where(md m, vd x) { return _mm256_xor_pd(x, _mm256_and_pd(_mm256_castsi256_pd(m), _mm256_set1_pd(-0.0))); }
static inline vd d_atleast(vd x, vd lo) { return _mm256_max_pd(lo, x); }
static inline vd d_atmost(vd x, vd hi) { return _mm256_min_pd(hi, x); }
static inline vl d_bits(vd a) { return _mm256_castpd_si256(a); }
static inline vd l_as_d(vl a) { return _mm256_castsi256_pd(a); }
static inline int md_any(md m) { return _mm256_movemask_pd(_mm256_castsi256_pd(m)) != 0; }
static inline md md_and(md a, md b) { return _mm256_and_si256(a, b); }

static inline vl l_set(uint64_t x) { return _mm256_set1_epi64x((long long)x); }
static inline vl l_add(vl a, vl b) { return _mm256_add_epi64(a, b); }
static inline vl l_sub(vl a, vl b) { return _mm256_sub_epi64(a, b); }
static inline vl l_and(vl a, vl b) { return _mm256_and_si256(a, b); }
static inline vl l_or(vl a, vl b) { return _mm256_or_si256(a, b); }
static inline vl l_xor(vl a, vl b) { return _mm256_xor_si256(a, b); }
static inline vl l_srl(vl a, int n) { return _mm256_srli_epi64(a, n); }
static inline vl l_sign(vl a) { return _mm256_cmpgt_epi64(_mm256_setzero_si256(), a); }
static inline md l_eq(vl a, vl b) { return _mm256_cmpeq_epi64(a, b); }
static inline md l_gt(vl a, vl b) { return _mm256_cmpgt_epi64(a, b); }
static inline vl l_blend(md m, vl a, vl b) {
    return _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(a), _mm256_castsi256_pd(b), _mm256_castsi256_pd(m)));
}
static inline vd u32lanes_to_d(vl v) {   /* low 32 bits of each 64-bit lane, exactly */
    vl magic = _mm256_or_si256(_mm256_and_si256(v, l_set(0xffffffffull)), l_set(0x4330000000000000ull));
    return _mm256_sub_pd(_mm256_castsi256_pd(magic), _mm256_set1_pd(0x1p52));
}
static inline vd l_to_d(vl a) {          /* 0 <= a < 2^63: hi * 2^32 is exact, the add rounds once */
    vd hi = _mm256_mul_pd(u32lanes_to_d(_mm256_srli_epi64(a, 32)), _mm256_set1_pd(0x1p32));
    return _mm256_add_pd(hi, u32lanes_to_d(a));
}
static inline vd l_small_to_d(vl a) {    /* |a| < 2^31 */
    __m256i lo = _mm256_permutevar8x32_epi32(a, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
    return _mm256_cvtepi32_pd(_mm256_castsi256_si128(lo));
}

#define FI_DPF 2
static inline vd i_part_to_d(vi k, int part) {
    __m128i h = part ? _mm256_extracti128_si256(k, 1) : _mm256_castsi256_si128(k);
    return u32lanes_to_d(_mm256_cvtepu32_epi64(h));
}
static inline vf d_parts_to_f(const vd *parts) {
    return _mm256_set_m128(_mm256_cvtpd_ps(parts[1]), _mm256_cvtpd_ps(parts[0]));
}
/* 64-bit lanes from part `part` of lo (low halves) and hi (high halves), as i_part_to_d */
static inline vl l_join(vi lo, vi hi, int part) {
    __m128i l = part ? _mm256_extracti128_si256(lo, 1) : _mm256_castsi256_si128(lo);
    __m128i u = part ? _mm256_extracti128_si256(hi, 1) : _mm256_castsi256_si128(hi);
    return _mm256_or_si256(_mm256_cvtepu32_epi64(l), _mm256_slli_epi64(_mm256_cvtepu32_epi64(u), 32));
}

static inline void f_store(float *dst, vf x) { _mm256_storeu_ps(dst, x); }
/* a non-temporal (past the caches) store, dst 16-byte aligned: one 32-byte stream store where dst
 * allows, else two 16-byte ones (numpy's large arrays are 16 mod 64) */
static inline void f_stream(float *dst, vf x) {
    if (((uintptr_t)dst & 31) == 0) {
        _mm256_stream_ps(dst, x);
    } else {
        _mm_stream_ps(dst, _mm256_castps256_ps128(x));
        _mm_stream_ps(dst + 4, _mm256_extractf128_ps(x, 1));
    }
}
static inline void f_stream_fence(void) { _mm_sfence(); }
static inline void f_store_f16(uint16_t *dst, vf x) {
    _mm_storeu_si128((__m128i *)dst, _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
static inline void i_store_u16(uint16_t *dst, vi x) {   /* lanes hold values < 2^16 */
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(x, x), 0x08);
    _mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(packed));
}
static inline void d_store(double *dst, vd x) { _mm256_storeu_pd(dst, x); }
static inline vd d_load(const double *src) { return _mm256_loadu_pd(src); }
/* Lane compaction (as in fi_simd_avx512.h, where compress/expand do it in one instruction): a
 * "stream" P[0], P[1], .. of packed lanes.  d_pack appends the lanes of m of x at stream position c
 * (returns the new length); d_unpack gives x with the lanes of m replaced, in order, by the stream
 * from position c.  P needs room for c / 4 + 2 vectors.  AVX2 has no compress: a 16-entry table
 * of lane permutations (by the 4-bit mask) and rotations by c % 4 do it with 32-bit permutes. */
#define FI_COMPACT 1
static inline int md_bits(md m) { return _mm256_movemask_pd(_mm256_castsi256_pd(m)); }
static inline int md_count(md m) { return __builtin_popcount((unsigned)md_bits(m)); }
/* 32-bit permutations moving 64-bit lanes: FI_COMPRESS[bits] puts the lanes of bits first, in
 * order; FI_EXPAND[bits] gives the n-th lane of bits lane n; FI_ROT_UP[r] lane i the lane i - r,
 * FI_ROT_DOWN[r] lane i the lane i + r (mod 4); FI_LANES_FROM[r] is all ones in lanes >= r. */
static const int32_t FI_COMPRESS[16][8] __attribute__((aligned(32))) = {
    {0, 1, 0, 1, 0, 1, 0, 1},
    {0, 1, 0, 1, 0, 1, 0, 1},
    {2, 3, 0, 1, 0, 1, 0, 1},
    {0, 1, 2, 3, 0, 1, 0, 1},
    {4, 5, 0, 1, 0, 1, 0, 1},
    {0, 1, 4, 5, 0, 1, 0, 1},
    {2, 3, 4, 5, 0, 1, 0, 1},
    {0, 1, 2, 3, 4, 5, 0, 1},
    {6, 7, 0, 1, 0, 1, 0, 1},
    {0, 1, 6, 7, 0, 1, 0, 1},
    {2, 3, 6, 7, 0, 1, 0, 1},
    {0, 1, 2, 3, 6, 7, 0, 1},
    {4, 5, 6, 7, 0, 1, 0, 1},
    {0, 1, 4, 5, 6, 7, 0, 1},
    {2, 3, 4, 5, 6, 7, 0, 1},
    {0, 1, 2, 3, 4, 5, 6, 7}};
static const int32_t FI_EXPAND[16][8] __attribute__((aligned(32))) = {
    {0, 1, 0, 1, 0, 1, 0, 1},
    {0, 1, 0, 1, 0, 1, 0, 1},
    {0, 1, 0, 1, 0, 1, 0, 1},
    {0, 1, 2, 3, 0, 1, 0, 1},
    {0, 1, 0, 1, 0, 1, 0, 1},
    {0, 1, 0, 1, 2, 3, 0, 1},
    {0, 1, 0, 1, 2, 3, 0, 1},
    {0, 1, 2, 3, 4, 5, 0, 1},
    {0, 1, 0, 1, 0, 1, 0, 1},
    {0, 1, 0, 1, 0, 1, 2, 3},
    {0, 1, 0, 1, 0, 1, 2, 3},
    {0, 1, 2, 3, 0, 1, 4, 5},
    {0, 1, 0, 1, 0, 1, 2, 3},
    {0, 1, 0, 1, 2, 3, 4, 5},
    {0, 1, 0, 1, 2, 3, 4, 5},
    {0, 1, 2, 3, 4, 5, 6, 7}};
static const int32_t FI_ROT_UP[4][8] __attribute__((aligned(32))) = {
    {0, 1, 2, 3, 4, 5, 6, 7},
    {6, 7, 0, 1, 2, 3, 4, 5},
    {4, 5, 6, 7, 0, 1, 2, 3},
    {2, 3, 4, 5, 6, 7, 0, 1}};
static const int32_t FI_ROT_DOWN[4][8] __attribute__((aligned(32))) = {
    {0, 1, 2, 3, 4, 5, 6, 7},
    {2, 3, 4, 5, 6, 7, 0, 1},
    {4, 5, 6, 7, 0, 1, 2, 3},
    {6, 7, 0, 1, 2, 3, 4, 5}};
static const int64_t FI_LANES_FROM[5][4] __attribute__((aligned(32))) = {
    {-1, -1, -1, -1},
    {0, -1, -1, -1},
    {0, 0, -1, -1},
    {0, 0, 0, -1},
    {0, 0, 0, 0}};
static inline __m256i perm_row(const int32_t *row) { return _mm256_load_si256((const __m256i *)row); }
static inline __m256d lanes_from(int r) { return _mm256_load_pd((const double *)FI_LANES_FROM[r]); }
static inline int d_pack(vd *P, int c, md m, vd x) {
    const int r = c & 3, k = c >> 2, bits = md_bits(m);
    __m256i R = _mm256_permutevar8x32_epi32(_mm256_castpd_si256(x), perm_row(FI_COMPRESS[bits]));
    vd Rr = _mm256_castsi256_pd(_mm256_permutevar8x32_epi32(R, perm_row(FI_ROT_UP[r])));
    P[k] = _mm256_blendv_pd(P[k], Rr, lanes_from(r));   /* packed lanes from lane r on */
    P[k + 1] = Rr;                                       /* (the overflow, if any) */
    return c + __builtin_popcount((unsigned)bits);
}
static inline vd d_unpack(const vd *P, int c, md m, vd x) {
    const int r = c & 3, k = c >> 2;
    const __m256i down = perm_row(FI_ROT_DOWN[r]);
    __m256i a = _mm256_permutevar8x32_epi32(_mm256_castpd_si256(P[k]), down);
    __m256i b = _mm256_permutevar8x32_epi32(_mm256_castpd_si256(P[k + 1]), down);
    vd w = _mm256_blendv_pd(_mm256_castsi256_pd(a), _mm256_castsi256_pd(b), lanes_from(4 - r));
    vd e = _mm256_castsi256_pd(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(w), perm_row(FI_EXPAND[md_bits(m)])));
    return _mm256_blendv_pd(x, e, _mm256_castsi256_pd(m));
}
#endif
