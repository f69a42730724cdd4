/* fastinit fill kernels: the C interface shared by the Cython wrapper and the SIMD paths.
 *
 * Every element i of a fill is a pure function of (seed, stream, i): the Philox4x32-10 block
 * that feeds it, and the arithmetic that turns its bits into a value, are fixed by the element's
 * global index alone.  All paths (portable scalar reference, AVX-512, AVX2) use the same layout
 * and perform the same IEEE operations in the same order (no FMA contraction, no libm), so their
 * results are bit-identical on every CPU.
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

#include <stdint.h>

enum fi_dist { FI_UNIFORM = 0, FI_NORMAL = 1, FI_TRUNC = 2 };
enum fi_dtype { FI_F32 = 0, FI_F64 = 1, FI_F16 = 2, FI_BF16 = 3 };
enum fi_path { FI_PATH_SCALAR = 0, FI_PATH_AVX512 = 1, FI_PATH_AVX2 = 2 };

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

/* Which paths this CPU and build can run. */
int fi_path_available(int path);
int fi_best_path(void);

/* Conversions used by the scalar path (exposed for tests). */
uint16_t fi_f32_to_f16_bits(float f);
uint16_t fi_f32_to_bf16_bits(float f);

/* Elements per group for a dtype. */
static inline int fi_group_size(int dtype) { return dtype == FI_F64 ? 32 : 64; }

/* ---- constants shared by every path ---- */
#define FI_PHILOX_M0 0xD2511F53u
#define FI_PHILOX_M1 0xCD9E8D57u
#define FI_PHILOX_W0 0x9E3779B9u
#define FI_PHILOX_W1 0xBB67AE85u

/* ln 2 split so that e * hi is exact (tools/gen_probit_coeffs.py). */
#define FI_LN2_HI_F32 0.693145751953125
#define FI_LN2_LO_F32 1.4286068203094173e-06
#define FI_LN2_HI_F64 0.6931471803691238
#define FI_LN2_LO_F64 1.9082149292705877e-10

/* float32 probit, in Giles' variable w = -log(4t(1-t)) (M. Giles, "Approximating the erfinv
 * function", GPU Computing Gems, 2011), with our own coefficients fitted by
 * tools/gen_probit_coeffs.py (max relative error about 2.3e-7 in float32 arithmetic):
 *   w <= 5:            z = q * C(w - 2.5)
 *   sqrt(w) <= 4.75:   z = T(sqrt(w) - 3.5)
 *   otherwise:         z = F(sqrt(w) - 6.5)     (valid to t ~ 1e-31, i.e. z ~ 11.6) */
#define FI_P32_CENTRAL_N 10
#define FI_P32_TAIL_N 9
#define FI_P32_FAR_N 8
static const float FI_P32_CENTRAL[FI_P32_CENTRAL_N] = {
    4.2466269570894895f, 0.6976040749769137f, -0.01181543371584122f, -0.00354328821480606f,
    0.0006175709641862714f, -1.403897614566519e-05f, -9.793894663083723e-06f,
    1.3186388242575948e-06f, 6.570146820677684e-08f, -2.4872803228472196e-08f};
static const float FI_P32_TAIL[FI_P32_TAIL_N] = {
    4.717077787753565f, 1.4247094617089715f, 0.004394278269827261f, -0.00242482895088394f,
    0.0008533494134886942f, -0.0002608529314791388f, 5.8415118415141586e-05f,
    1.328846430598003e-05f, -1.1255077995061132e-05f};
static const float FI_P32_FAR[FI_P32_FAR_N] = {
    9.000894172905259f, 1.4270962170040895f, -0.000721883565370691f, -1.5349030829869648e-05f,
    1.594801907998433e-05f, -4.0514756940468725e-06f, 1.0073520495057827e-06f,
    -1.7680405109999478e-07f};

/* float64 probit: Wichura's Algorithm AS 241 (PPND16), Applied Statistics 37(3), 1988,
 * relative accuracy about 1e-16.  Coefficients in ascending powers. */
static const double FI_AS241_A[8] = {
    3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
    1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
    3.3430575583588128105e+4, 2.5090809287301226727e+3};
static const double FI_AS241_B[8] = {
    1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
    2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4,
    5.2264952788528545610e+3};
static const double FI_AS241_C[8] = {
    1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
    3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
    2.27238449892691845833e-2, 7.74545014278341407640e-4};
static const double FI_AS241_D[8] = {
    1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
    1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
    1.05075007164441684324e-9};
static const double FI_AS241_E[8] = {
    6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
    2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
    2.71155556874348757815e-5, 2.01033439929228813265e-7};
static const double FI_AS241_F[8] = {
    1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
    7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
    2.04426310338993978564e-15};

/* log1p(f) = 2 atanh(s), s = f / (2 + f): odd Taylor series 2 (s + s^3/3 + s^5/5 + ...).
 * |s| <= 0.2 on the reduced range, so 6 terms suffice for float32 and 12 for float64. */
#define FI_LOG_TERMS_F32 6
#define FI_LOG_TERMS_F64 12

#endif
