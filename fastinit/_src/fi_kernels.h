/* fastinit fill kernels: the C interface shared by the Cython wrapper and the SIMD paths.
 *
 * Every element i of a fill is a pure function of (seed, stream, i): the Philox4x32-10 block
 * that feeds it, and the arithmetic that turns its bits into a value, are fixed by the element's
 * global index alone.  All paths (portable scalar reference, AVX-512, AVX2, AArch64 NEON) use the
 * same layout and perform the same IEEE operations in the same order (one math, fi_math.h, and one
 * group loop, fi_groups.h, over per-ISA primitives and Philox words; no FMA contraction, no libm),
 * so their results are bit-identical on every CPU.
 *
 * Layout ("groups"): elements are taken in groups of G = 64 (outputs fed by one 32-bit word:
 * float32, float16, bfloat16) or G = 32 (float64, fed by two words).  Element e of group g uses
 * Philox block b = 16*g + (e % 16) (counter = {lo32(b), hi32(b), stream_lo, stream_hi},
 * key = {seed_lo, seed_hi}) and word e / 16 (G = 64), or words 2*(e/16) and 2*(e/16)+1 as the
 * low and high halves of a 64-bit integer (G = 32).  A 16-lane SIMD path therefore stores each
 * Philox output word straight to memory, with no transpose.
 */
#ifndef FI_KERNELS_H
#define FI_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* The codes shared with Python: declared once, here; fastinit/_fill.pyx exposes them as the
 * IntEnums Dist, Dtype, Path and Method (tests/test_enums.py checks its declarations and the stubs
 * in fastinit/_fill.pyi against this header). */
enum fi_dist { FI_UNIFORM = 0, FI_NORMAL = 1, FI_TRUNC = 2 };
enum fi_dtype { FI_F32 = 0, FI_F64 = 1, FI_F16 = 2, FI_BF16 = 3 };
enum fi_path { FI_PATH_SCALAR = 0, FI_PATH_AVX512 = 1, FI_PATH_AVX2 = 2, FI_PATH_NEON = 3 };

/* How a truncated normal is drawn (fi_params.method). */
enum fi_method {
    FI_INVERT = 0,  /* z = Phi^-1(Phi(alpha) + u mass), from the nearer tail */
    FI_SERIES = 1   /* narrow interval: x = loc + scale * u P(u), P from fastinit.kernels.trunc_params */
};
#define FI_SERIES_N 12

typedef struct {
    uint32_t key[2];     /* seed, low word first */
    uint32_t stream[2];  /* stream, low word first */
    int dist;            /* enum fi_dist */
    int dtype;           /* enum fi_dtype */
    int wide;            /* 1: compute in float64 (always for FI_F64; for far-tail trunc) */
    int method;          /* trunc: enum fi_method */
    double loc, scale;   /* uniform: low, high - low; normal/FI_INVERT: mean, std; FI_SERIES: a, std * D(h) */
    double p_lo;         /* FI_INVERT: Phi(alpha), alpha = (a - mean) / std */
    double p_hi;         /* FI_INVERT: 1 - Phi(beta) = Phi(-beta) */
    double mass;         /* FI_INVERT: Phi(beta) - Phi(alpha) */
    double clamp_lo, clamp_hi;  /* values are clamped to these (representable in dtype) before rounding */
    double coef[FI_SERIES_N];   /* FI_SERIES: P in ascending powers */
} fi_params;

/* Philox4x32-10 on one block (Salmon et al., SC'11). */
void fi_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Fill out[0..n) with elements first..first+n-1 of the stream described by p. */
void fi_fill(const fi_params *p, void *out, int64_t n, uint64_t first, int path);
/* As fi_fill; stream != 0: float32 outputs on the x86 SIMD paths are written with non-temporal stores
 * where 16-byte aligned (for fills too large to stay in cache: no read of each line before it
 * is written), fenced before returning.  Same values either way. */
void fi_fill_ex(const fi_params *p, void *out, int64_t n, uint64_t first, int path, int stream);

/* Which paths this CPU and build can run. */
int fi_path_available(int path);
int fi_best_path(void);

/* Conversions used by the scalar path (exposed for tests). */
uint16_t fi_f32_to_f16_bits(float f);
uint16_t fi_f32_to_bf16_bits(float f);

/* Bytes per element of a dtype: the one table of element sizes (fastinit._fill.ITEMSIZE, which
 * fastinit._formats uses, is read from it). */
static inline int fi_itemsize(int dtype) {
    static const unsigned char bytes[] = {[FI_F32] = 4, [FI_F64] = 8, [FI_F16] = 2, [FI_BF16] = 2};
    return bytes[dtype];
}

/* Elements per group for a dtype, and a group's bytes. */
static inline int fi_group_size(int dtype) { return dtype == FI_F64 ? 32 : 64; }
static inline size_t fi_group_bytes(int dtype) { return (size_t)fi_group_size(dtype) * (size_t)fi_itemsize(dtype); }

/* ---- constants shared by every path ---- */
#define FI_PHILOX_M0 0xD2511F53u
#define FI_PHILOX_M1 0xCD9E8D57u
#define FI_PHILOX_W0 0x9E3779B9u
#define FI_PHILOX_W1 0xBB67AE85u

#endif
