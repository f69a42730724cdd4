/* Vector primitives for fi_math.h: AArch64 Advanced SIMD (NEON), 4 float / 2 double lanes.
 * Masks are all-ones lanes (comparisons' results).  Each primitive is the scalar header's
 * operation lane by lane: conversions and float16 narrowing round to nearest even (the FPCR
 * default), and the clamps are compare-and-select rather than FMAX/FMIN, which would differ from
 * the scalar `x < lo ? lo : x` on NaN and on zeros of opposite sign. */
#ifndef FI_SIMD_NEON_H
#define FI_SIMD_NEON_H
#include <arm_neon.h>
#include <stdint.h>

typedef float32x4_t vf;
typedef uint32x4_t vi;
typedef uint32x4_t mf;
typedef float64x2_t vd;
typedef uint64x2_t vl;
typedef uint64x2_t md;

#define FI_FL 4
#define FI_DL 2
#define FI_NBF 8        /* half a group's 16 vectors at once (32 registers) */
#define FI_NBD 4

static inline vf f_set(float x) { return vdupq_n_f32(x); }
static inline vf f_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf f_sub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf f_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf f_div(vf a, vf b) { return vdivq_f32(a, b); }
static inline vf f_sqrt(vf a) { return vsqrtq_f32(a); }
static inline vf f_neg(vf a) { return vnegq_f32(a); }
static inline mf f_lt(vf a, vf b) { return vcltq_f32(a, b); }
static inline mf f_le(vf a, vf b) { return vcleq_f32(a, b); }
static inline mf f_gt(vf a, vf b) { return vcgtq_f32(a, b); }
static inline mf f_gt_finite(vf a, vf b) { return vcgtq_f32(a, b); }
static inline vf f_blend(mf m, vf a, vf b) { return vbslq_f32(m, b, a); }   /* b where m, else a */
static inline vf f_neg_where(mf m, vf x) {                                   /* the sign bit flipped where m */
    return vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(x), vandq_u32(m, vdupq_n_u32(0x80000000u))));
}
static inline vf f_atleast(vf x, vf lo) { return vbslq_f32(vcltq_f32(x, lo), lo, x); }
static inline vf f_atmost(vf x, vf hi) { return vbslq_f32(vcgtq_f32(x, hi), hi, x); }
static inline vi f_bits(vf a) { return vreinterpretq_u32_f32(a); }
static inline vf i_as_f(vi a) { return vreinterpretq_f32_u32(a); }
static inline int mf_any(mf m) { return vmaxvq_u32(m) != 0; }
static inline mf mf_and(mf a, mf b) { return vandq_u32(a, b); }

static inline vi i_set(uint32_t x) { return vdupq_n_u32(x); }
static inline vi i_add(vi a, vi b) { return vaddq_u32(a, b); }
static inline vi i_sub(vi a, vi b) { return vsubq_u32(a, b); }
static inline vi i_and(vi a, vi b) { return vandq_u32(a, b); }
static inline vi i_or(vi a, vi b) { return vorrq_u32(a, b); }
static inline vi i_xor(vi a, vi b) { return veorq_u32(a, b); }
static inline vi i_srl(vi a, int n) { return vshlq_u32(a, vdupq_n_s32(-n)); }   /* (a shift by a register) */
static inline vi i_sign(vi a) { return vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_u32(a), 31)); }
static inline mf i_eq(vi a, vi b) { return vceqq_u32(a, b); }
static inline mf i_signbit(vi a) { return vcltzq_s32(vreinterpretq_s32_u32(a)); }
static inline mf i_gt(vi a, vi b) { return vcgtq_s32(vreinterpretq_s32_u32(a), vreinterpretq_s32_u32(b)); }
static inline vi i_blend(mf m, vi a, vi b) { return vbslq_u32(m, b, a); }
static inline vf i_to_f(vi a) { return vcvtq_f32_s32(vreinterpretq_s32_u32(a)); }
static inline vf u_to_f(vi a) { return vcvtq_f32_u32(a); }
static inline void u_to_f_and_not(vi a, vf *u, vf *v) { *u = vcvtq_f32_u32(a); *v = vcvtq_f32_u32(vmvnq_u32(a)); }

/* tab[idx], idx in [0, 8): a byte lookup over the table's 32 bytes */
static inline vf f_lookup8(const float *tab, vi idx) {
    const uint8x16x2_t t = {{vld1q_u8((const uint8_t *)tab), vld1q_u8((const uint8_t *)tab + 16)}};
    const vi bytes = vaddq_u32(vmulq_n_u32(idx, 0x04040404u), vdupq_n_u32(0x03020100u));
    return vreinterpretq_f32_u8(vqtbl2q_u8(t, vreinterpretq_u8_u32(bytes)));
}

static inline vd d_set(double x) { return vdupq_n_f64(x); }
static inline vd d_add(vd a, vd b) { return vaddq_f64(a, b); }
static inline vd d_sub(vd a, vd b) { return vsubq_f64(a, b); }
static inline vd d_mul(vd a, vd b) { return vmulq_f64(a, b); }
static inline vd d_div(vd a, vd b) { return vdivq_f64(a, b); }
static inline vd d_sqrt(vd a) { return vsqrtq_f64(a); }
static inline vd d_neg(vd a) { return vnegq_f64(a); }
static inline md d_lt(vd a, vd b) { return vcltq_f64(a, b); }
static inline md d_le(vd a, vd b) { return vcleq_f64(a, b); }
static inline md d_gt(vd a, vd b) { return vcgtq_f64(a, b); }
static inline vd d_blend(md m, vd a, vd b) { return vbslq_f64(m, b, a); }
static inline vd d_neg_where(md m, vd x) {
    return vreinterpretq_f64_u64(veorq_u64(vreinterpretq_u64_f64(x), vandq_u64(m, vdupq_n_u64(0x8000000000000000ull))));
}
static inline vd d_atleast(vd x, vd lo) { return vbslq_f64(vcltq_f64(x, lo), lo, x); }
static inline vd d_atmost(vd x, vd hi) { return vbslq_f64(vcgtq_f64(x, hi), hi, x); }
static inline vl d_bits(vd a) { return vreinterpretq_u64_f64(a); }
static inline vd l_as_d(vl a) { return vreinterpretq_f64_u64(a); }
static inline int md_any(md m) { return vmaxvq_u32(vreinterpretq_u32_u64(m)) != 0; }
static inline md md_and(md a, md b) { return vandq_u64(a, b); }

static inline vl l_set(uint64_t x) { return vdupq_n_u64(x); }
static inline vl l_add(vl a, vl b) { return vaddq_u64(a, b); }
static inline vl l_sub(vl a, vl b) { return vsubq_u64(a, b); }
static inline vl l_and(vl a, vl b) { return vandq_u64(a, b); }
static inline vl l_or(vl a, vl b) { return vorrq_u64(a, b); }
static inline vl l_xor(vl a, vl b) { return veorq_u64(a, b); }
static inline vl l_srl(vl a, int n) { return vshlq_u64(a, vdupq_n_s64(-n)); }
static inline vl l_sign(vl a) { return vreinterpretq_u64_s64(vshrq_n_s64(vreinterpretq_s64_u64(a), 63)); }
static inline md l_eq(vl a, vl b) { return vceqq_u64(a, b); }
static inline md l_gt(vl a, vl b) { return vcgtq_s64(vreinterpretq_s64_u64(a), vreinterpretq_s64_u64(b)); }
static inline vl l_blend(md m, vl a, vl b) { return vbslq_u64(m, b, a); }
static inline vd l_to_d(vl a) { return vcvtq_f64_s64(vreinterpretq_s64_u64(a)); }
static inline vd l_small_to_d(vl a) { return vcvtq_f64_s64(vreinterpretq_s64_u64(a)); }

#define FI_DPF 2
static inline vd i_part_to_d(vi k, int part) {   /* unsigned lanes, exactly */
    return vcvtq_f64_u64(vmovl_u32(part ? vget_high_u32(k) : vget_low_u32(k)));
}
static inline vf d_parts_to_f(const vd *parts) { return vcvt_high_f32_f64(vcvt_f32_f64(parts[0]), parts[1]); }
/* 64-bit lanes from part `part` of lo (low halves) and hi (high halves), as i_part_to_d */
static inline vl l_join(vi lo, vi hi, int part) {
    return vreinterpretq_u64_u32(part ? vzip2q_u32(lo, hi) : vzip1q_u32(lo, hi));
}

static inline void f_store(float *dst, vf x) { vst1q_f32(dst, x); }
/* (no non-temporal stores here: f_stream is a plain store, with nothing to fence) */
static inline void f_stream(float *dst, vf x) { vst1q_f32(dst, x); }
static inline void f_stream_fence(void) {}
static inline void f_store_f16(uint16_t *dst, vf x) { vst1_u16(dst, vreinterpret_u16_f16(vcvt_f16_f32(x))); }
static inline void i_store_u16(uint16_t *dst, vi x) { vst1_u16(dst, vmovn_u32(x)); }   /* low 16 bits */
static inline void d_store(double *dst, vd x) { vst1q_f64(dst, x); }
static inline vd d_load(const double *src) { return vld1q_f64(src); }
#define FI_COMPACT 0    /* (two lanes: little to pack) */
#endif
