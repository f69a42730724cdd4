/* Vector primitives for fi_math.h: the portable 1-lane case (the reference path).
 *
 * A "vector" here is one value, a mask one int; fi_math.h then reads as plain scalar C.  Every
 * primitive is one IEEE operation (or an exact integer one), as in the SIMD headers. */
#ifndef FI_SIMD_SCALAR_H
#define FI_SIMD_SCALAR_H
#include <stdint.h>
#include <string.h>

typedef float vf;       /* float32 lanes */
typedef uint32_t vi;    /* 32-bit integer lanes (as many as vf) */
typedef int mf;         /* mask over vf/vi lanes */
typedef double vd;      /* float64 lanes */
typedef uint64_t vl;    /* 64-bit integer lanes (as many as vd) */
typedef int md;         /* mask over vd/vl lanes */

#define FI_FL 1         /* lanes of vf */
#define FI_DL 1         /* lanes of vd */
#define FI_NBF 1        /* vf vectors fi_math.h works on at once (interleaved chains) */
#define FI_NBD 1        /* vd vectors likewise */

/* float32 */
static inline vf f_set(float x) { return x; }
static inline vf f_add(vf a, vf b) { return a + b; }
static inline vf f_sub(vf a, vf b) { return a - b; }
static inline vf f_mul(vf a, vf b) { return a * b; }
static inline vf f_div(vf a, vf b) { return a / b; }
static inline vf f_sqrt(vf a) { return __builtin_sqrtf(a); }
static inline vf f_neg(vf a) { return -a; }
static inline mf f_lt(vf a, vf b) { return a < b; }
static inline mf f_le(vf a, vf b) { return a <= b; }
static inline mf f_gt(vf a, vf b) { return a > b; }
static inline mf f_gt_finite(vf a, vf b) { return a > b; }         /* a, b finite */
static inline vf f_blend(mf m, vf a, vf b) { return m ? b : a; }   /* b where m, else a */
static inline vf f_neg_where(mf m, vf x) { return m ? -x : x; }
static inline vf f_atleast(vf x, vf lo) { return x < lo ? lo : x; } /* x kept when NaN or equal */
static inline vf f_atmost(vf x, vf hi) { return x > hi ? hi : x; }
static inline vi f_bits(vf a) { vi u; memcpy(&u, &a, 4); return u; }
static inline vf i_as_f(vi u) { vf a; memcpy(&a, &u, 4); return a; }
static inline int mf_any(mf m) { return m; }
static inline mf mf_and(mf a, mf b) { return a & b; }

/* 32-bit integers */
static inline vi i_set(uint32_t x) { return x; }
static inline vi i_add(vi a, vi b) { return a + b; }
static inline vi i_sub(vi a, vi b) { return a - b; }
static inline vi i_and(vi a, vi b) { return a & b; }
static inline vi i_or(vi a, vi b) { return a | b; }
static inline vi i_xor(vi a, vi b) { return a ^ b; }
static inline vi i_srl(vi a, int n) { return a >> n; }
static inline vi i_sign(vi a) { return (vi)((int32_t)a >> 31); }      /* all ones where negative */
static inline mf i_eq(vi a, vi b) { return a == b; }
static inline mf i_signbit(vi a) { return (int32_t)a < 0; }           /* lanes with the top bit set */
static inline mf i_gt(vi a, vi b) { return (int32_t)a > (int32_t)b; } /* signed */
static inline vi i_blend(mf m, vi a, vi b) { return m ? b : a; }
static inline vf i_to_f(vi a) { return (float)(int32_t)a; }           /* signed */
static inline vf u_to_f(vi a) { return (float)a; }                    /* unsigned */
static inline void u_to_f_and_not(vi a, vf *u, vf *v) { *u = (float)a; *v = (float)~a; }  /* a and ~a */

static inline vf f_lookup8(const float *tab, vi idx) { return tab[idx]; }
/* (the portable path never streams: f_stream is a plain store, with nothing to fence) */
static inline void f_stream(float *dst, vf x) { *dst = x; }
static inline void f_stream_fence(void) {}
/* float64 */
static inline vd d_set(double x) { return x; }
static inline vd d_add(vd a, vd b) { return a + b; }
static inline vd d_sub(vd a, vd b) { return a - b; }
static inline vd d_mul(vd a, vd b) { return a * b; }
static inline vd d_div(vd a, vd b) { return a / b; }
static inline vd d_sqrt(vd a) { return __builtin_sqrt(a); }
static inline vd d_neg(vd a) { return -a; }
static inline md d_lt(vd a, vd b) { return a < b; }
static inline md d_le(vd a, vd b) { return a <= b; }
static inline md d_gt(vd a, vd b) { return a > b; }
static inline vd d_blend(md m, vd a, vd b) { return m ? b : a; }
static inline vd d_neg_where(md m, vd x) { return m ? -x : x; }
static inline vd d_atleast(vd x, vd lo) { return x < lo ? lo : x; }
static inline vd d_atmost(vd x, vd hi) { return x > hi ? hi : x; }
static inline vl d_bits(vd a) { vl u; memcpy(&u, &a, 8); return u; }
static inline vd l_as_d(vl u) { vd a; memcpy(&a, &u, 8); return a; }
static inline int md_any(md m) { return m; }
static inline md md_and(md a, md b) { return a & b; }

/* 64-bit integers */
static inline vl l_set(uint64_t x) { return x; }
static inline vl l_add(vl a, vl b) { return a + b; }
static inline vl l_sub(vl a, vl b) { return a - b; }
static inline vl l_and(vl a, vl b) { return a & b; }
static inline vl l_or(vl a, vl b) { return a | b; }
static inline vl l_xor(vl a, vl b) { return a ^ b; }
static inline vl l_srl(vl a, int n) { return a >> n; }
static inline vl l_sign(vl a) { return (vl)((int64_t)a >> 63); }
static inline md l_eq(vl a, vl b) { return a == b; }
static inline md l_gt(vl a, vl b) { return (int64_t)a > (int64_t)b; }
static inline vl l_blend(md m, vl a, vl b) { return m ? b : a; }
static inline vd l_to_d(vl a) { return (double)(int64_t)a; }          /* 0 <= a < 2^63 */
static inline vd l_small_to_d(vl a) { return (double)(int64_t)a; }    /* |a| < 2^31 */

/* between widths: vf vector = FI_FL / FI_DL parts of vd */
#define FI_DPF 1
static inline vd i_part_to_d(vi k, int part) { (void)part; return (double)k; }  /* unsigned lanes */
/* 64-bit lanes from part `part` of lo (low halves) and hi (high halves), as i_part_to_d */
static inline vl l_join(vi lo, vi hi, int part) { (void)part; return (vl)lo | (vl)hi << 32; }
static inline vf d_parts_to_f(const vd *parts) { return (float)parts[0]; }

/* stores */
uint16_t fi_f32_to_f16_bits(float f);
static inline void f_store(float *dst, vf x) { *dst = x; }
static inline void f_store_f16(uint16_t *dst, vf x) { *dst = fi_f32_to_f16_bits(x); }
static inline void i_store_u16(uint16_t *dst, vi x) { *dst = (uint16_t)x; }   /* low 16 bits */
static inline void d_store(double *dst, vd x) { *dst = x; }
static inline vd d_load(const double *src) { return *src; }
#define FI_COMPACT 0    /* (one lane: nothing to pack) */
#endif
