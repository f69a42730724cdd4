/* Portable reference path, fill loop and dispatch.  Compiled with -ffp-contract=off and without
 * -ffast-math: every expression below is evaluated as written, one IEEE rounding per operation,
 * which is what makes the SIMD paths (fi_kernels_avx512.c) bit-identical to this one. */
#include <string.h>
#include "fi_kernels.h"

/* ---------------- Philox4x32-10 ---------------- */

static inline void mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void fi_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo32(FI_PHILOX_M0, x0, &hi0, &lo0);
        mulhilo32(FI_PHILOX_M1, x2, &hi1, &lo1);
        uint32_t y0 = hi1 ^ x1 ^ k0, y2 = hi0 ^ x3 ^ k1;
        x0 = y0; x1 = lo1; x2 = y2; x3 = lo0;
        k0 += FI_PHILOX_W0; k1 += FI_PHILOX_W1;  /* the bump after round 10 is never used */
    }
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

/* ---------------- bit helpers ---------------- */

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint64_t f64_bits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }
static inline double bits_f64(uint64_t u) { double f; memcpy(&f, &u, 8); return f; }

/* Round to nearest even; finite inputs only (values are clamped into the target range first). */
uint16_t fi_f32_to_f16_bits(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x >= 0x477ff000u) return sign | 0x7c00u;          /* >= 65520 rounds to inf */
    if (x < 0x38800000u) {                                 /* below 2^-14: subnormal half */
        /* adding 0.5 leaves exactly the multiples of 2^-24 (RNE) in the low mantissa bits */
        float y = bits_f32(x) + 0.5f;
        return sign | (uint16_t)(f32_bits(y) - 0x3f000000u);
    }
    uint32_t odd = (x >> 13) & 1u;
    x += 0xc8000fffu + odd;                                /* rebias exponent, round half to even */
    return sign | (uint16_t)(x >> 13);
}

uint16_t fi_f32_to_bf16_bits(float f) {
    uint32_t x = f32_bits(f);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* ---------------- scalar math (the reference) ---------------- */

/* natural log of a positive normal float: x = 2^e m, m in [0.75, 1.5) */
static float log_f32(float x) {
    uint32_t b = f32_bits(x);
    int32_t e = (int32_t)(b >> 23) - 127;
    uint32_t mb = (b & 0x007fffffu) | 0x3f800000u;
    if (mb >= 0x3fc00000u) { mb -= 0x00800000u; e += 1; }
    float f = bits_f32(mb) - 1.0f;
    float s = f / (2.0f + f);
    float s2 = s * s;
    float r = 1.0f / (2 * (FI_LOG_TERMS_F32 - 1) + 1);
    for (int k = FI_LOG_TERMS_F32 - 2; k >= 0; k--) r = r * s2 + 1.0f / (2 * k + 1);
    float l = (s + s) * r;
    float ef = (float)e;
    return ef * (float)FI_LN2_HI_F32 + (l + ef * (float)FI_LN2_LO_F32);
}

static double log_f64(double x) {
    uint64_t b = f64_bits(x);
    int64_t e = (int64_t)(b >> 52) - 1023;
    uint64_t mb = (b & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    if (mb >= 0x3ff8000000000000ull) { mb -= 0x0010000000000000ull; e += 1; }
    double f = bits_f64(mb) - 1.0;
    double s = f / (2.0 + f);
    double s2 = s * s;
    double r = 1.0 / (2 * (FI_LOG_TERMS_F64 - 1) + 1);
    for (int k = FI_LOG_TERMS_F64 - 2; k >= 0; k--) r = r * s2 + 1.0 / (2 * k + 1);
    double l = (s + s) * r;
    double ef = (double)e;
    return ef * FI_LN2_HI_F64 + (l + ef * FI_LN2_LO_F64);
}

static inline float horner_f32(const float *c, int n, float x) {
    float acc = c[n - 1];
    for (int k = n - 2; k >= 0; k--) acc = acc * x + c[k];
    return acc;
}

static inline double horner_f64(const double *c, int n, double x) {
    double acc = c[n - 1];
    for (int k = n - 2; k >= 0; k--) acc = acc * x + c[k];
    return acc;
}

/* z >= 0 with Phi(z) = 1 - t, given t in (0, 1/2] and q = 1/2 - t (passed in, as the caller
 * often knows it more precisely than 0.5f - t). */
static float probit_upper_f32(float t, float q) {
    float w = -log_f32((t * 4.0f) * (0.5f + q));
    if (w <= 5.0f) return q * horner_f32(FI_P32_CENTRAL, FI_P32_CENTRAL_N, w - 2.5f);
    float s = __builtin_sqrtf(w);
    if (s <= 4.75f) return horner_f32(FI_P32_TAIL, FI_P32_TAIL_N, s - 3.5f);
    return horner_f32(FI_P32_FAR, FI_P32_FAR_N, s - 6.5f);
}

static double probit_upper_f64(double t, double q) {
    double num, den;
    if (q <= 0.425) {
        double r = 0.180625 - q * q;
        num = q * horner_f64(FI_AS241_A, 8, r);
        den = horner_f64(FI_AS241_B, 8, r);
    } else {
        double r = __builtin_sqrt(-log_f64(t));
        if (r <= 5.0) {
            r = r - 1.6;
            num = horner_f64(FI_AS241_C, 8, r);
            den = horner_f64(FI_AS241_D, 8, r);
        } else {
            r = r - 5.0;
            num = horner_f64(FI_AS241_E, 8, r);
            den = horner_f64(FI_AS241_F, 8, r);
        }
    }
    return num / den;
}

/* ---- per-element transforms: bits -> value in working precision ---- */

static inline float uniform_f32(const fi_params *p, uint32_t k) {
    float u = (float)(k >> 8) * 0x1p-24f;
    return (float)p->loc + u * (float)p->scale;
}

static inline double uniform_f64(const fi_params *p, uint64_t k) {
    double u = (double)(k >> 11) * 0x1p-53;
    return p->loc + u * p->scale;
}

static inline float normal_f32(const fi_params *p, uint32_t k) {
    int32_t a = (int32_t)((k & 0x80000000u) ? ~k : k) & 0x7fffffff;  /* distance from the nearer end */
    float t = ((float)a + 0.5f) * 0x1p-32f;
    float q = ((float)(0x7fffffff - a) + 0.5f) * 0x1p-32f;
    float z = probit_upper_f32(t, q);
    if (!(k & 0x80000000u)) z = -z;
    return (float)p->loc + z * (float)p->scale;
}

static inline double normal_f64(const fi_params *p, uint64_t k) {
    int64_t a = (int64_t)((k & 0x8000000000000000ull) ? ~k : k) & 0x7fffffffffffffffll;
    double t = ((double)a + 0.5) * 0x1p-64;
    double q = ((double)(0x7fffffffffffffffll - a) + 0.5) * 0x1p-64;
    double z = probit_upper_f64(t, q);
    if (!(k & 0x8000000000000000ull)) z = -z;
    return p->loc + z * p->scale;
}

/* Truncated normal by inversion: P = Phi(alpha) + u * mass from below, Q = Phi(-beta) + (1-u) * mass
 * from above; the smaller of the two is the tail probability we invert, so both far tails keep
 * full relative precision. */
static inline float trunc_f32(const fi_params *p, uint32_t k) {
    float u = ((float)k + 0.5f) * 0x1p-32f;
    float v = ((float)(~k) + 0.5f) * 0x1p-32f;
    float lo = (float)p->p_lo + u * (float)p->mass;
    float hi = (float)p->p_hi + v * (float)p->mass;
    float t = lo <= hi ? lo : hi;
    float z = probit_upper_f32(t, 0.5f - t);
    if (lo <= hi) z = -z;
    return (float)p->loc + z * (float)p->scale;
}

static inline double trunc_f64_from(const fi_params *p, double u, double v) {
    double lo = p->p_lo + u * p->mass;
    double hi = p->p_hi + v * p->mass;
    double t = lo <= hi ? lo : hi;
    double z = probit_upper_f64(t, 0.5 - t);
    if (lo <= hi) z = -z;
    return p->loc + z * p->scale;
}

static inline double trunc_f64_w32(const fi_params *p, uint32_t k) {
    return trunc_f64_from(p, ((double)k + 0.5) * 0x1p-32, ((double)(~k) + 0.5) * 0x1p-32);
}

static inline double trunc_f64_w64(const fi_params *p, uint64_t k) {
    return trunc_f64_from(p, ((double)(k >> 11) + 0.5) * 0x1p-53, ((double)((~k) >> 11) + 0.5) * 0x1p-53);
}

static inline float clamp_f32(const fi_params *p, float x) {
    float lo = (float)p->clamp_lo, hi = (float)p->clamp_hi;
    if (x < lo) x = lo;
    if (x > hi) x = hi;
    return x;
}

static inline double clamp_f64(const fi_params *p, double x) {
    if (x < p->clamp_lo) x = p->clamp_lo;
    if (x > p->clamp_hi) x = p->clamp_hi;
    return x;
}

/* value of one 32-bit-word element, in float32 (before the final rounding to f16/bf16) */
static inline float narrow_value(const fi_params *p, uint32_t k) {
    switch (p->dist) {
    case FI_UNIFORM: return clamp_f32(p, uniform_f32(p, k));
    case FI_NORMAL: return clamp_f32(p, normal_f32(p, k));
    default:
        if (p->wide) return clamp_f32(p, (float)trunc_f64_w32(p, k));
        return clamp_f32(p, trunc_f32(p, k));
    }
}

static inline double wide_value(const fi_params *p, uint64_t k) {
    switch (p->dist) {
    case FI_UNIFORM: return clamp_f64(p, uniform_f64(p, k));
    case FI_NORMAL: return clamp_f64(p, normal_f64(p, k));
    default: return clamp_f64(p, trunc_f64_w64(p, k));
    }
}

/* ---------------- scalar group generator ---------------- */

static void groups_scalar(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst) {
    for (int64_t gi = 0; gi < ngroups; gi++) {
        uint64_t g = g0 + (uint64_t)gi;
        uint32_t words[4][16];
        for (int l = 0; l < 16; l++) {
            uint64_t b = 16 * g + (uint64_t)l;
            uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), p->stream[0], p->stream[1]};
            uint32_t out[4];
            fi_philox4x32_10(ctr, p->key, out);
            for (int w = 0; w < 4; w++) words[w][l] = out[w];
        }
        if (p->dtype == FI_F64) {
            double *o = (double *)dst + 32 * gi;
            for (int e = 0; e < 32; e++) {
                int h = e / 16, l = e % 16;
                uint64_t k = (uint64_t)words[2 * h][l] | ((uint64_t)words[2 * h + 1][l] << 32);
                o[e] = wide_value(p, k);
            }
            continue;
        }
        for (int e = 0; e < 64; e++) {
            float v = narrow_value(p, words[e / 16][e % 16]);
            switch (p->dtype) {
            case FI_F32: ((float *)dst)[64 * gi + e] = v; break;
            case FI_F16: ((uint16_t *)dst)[64 * gi + e] = fi_f32_to_f16_bits(v); break;
            default: ((uint16_t *)dst)[64 * gi + e] = fi_f32_to_bf16_bits(v); break;
            }
        }
    }
}

/* ---------------- dispatch and the fill loop ---------------- */

typedef void (*groups_fn)(const fi_params *, uint64_t, int64_t, void *);

#if defined(__x86_64__) && defined(__GNUC__)
void fi_groups_avx512(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst);
void fi_groups_avx2(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst);
#define FI_HAVE_X86_SIMD 1
#endif

int fi_path_available(int path) {
    if (path == FI_PATH_SCALAR) return 1;
#ifdef FI_HAVE_X86_SIMD
    __builtin_cpu_init();
    if (path == FI_PATH_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    if (path == FI_PATH_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
#endif
    return 0;
}

int fi_best_path(void) {
    if (fi_path_available(FI_PATH_AVX512)) return FI_PATH_AVX512;
    if (fi_path_available(FI_PATH_AVX2)) return FI_PATH_AVX2;
    return FI_PATH_SCALAR;
}

static groups_fn groups_for(int path) {
#ifdef FI_HAVE_X86_SIMD
    if (path == FI_PATH_AVX512) return fi_groups_avx512;
    if (path == FI_PATH_AVX2) return fi_groups_avx2;
#endif
    (void)path;
    return groups_scalar;
}

static inline int itemsize(int dtype) {
    return dtype == FI_F64 ? 8 : dtype == FI_F32 ? 4 : 2;
}

void fi_fill(const fi_params *p, void *out, int64_t n, uint64_t first, int path) {
    groups_fn gen = groups_for(path);
    const int G = fi_group_size(p->dtype), isz = itemsize(p->dtype);
    char *o = (char *)out;
    uint64_t i = first, end = first + (uint64_t)n;
    double tmp[64];  /* one group of any dtype: 64 * 8 bytes */
    while (i < end) {
        uint64_t g = i / G, e0 = i % G;
        if (e0 == 0 && end - i >= (uint64_t)G) {   /* a run of whole groups, written in place */
            int64_t ng = (int64_t)((end - i) / G);
            gen(p, g, ng, o);
            o += (size_t)ng * G * isz;
            i += (uint64_t)ng * G;
            continue;
        }
        uint64_t cnt = (uint64_t)G - e0;            /* a partial group goes through tmp */
        if (cnt > end - i) cnt = end - i;
        gen(p, g, 1, tmp);
        memcpy(o, (char *)tmp + e0 * isz, cnt * isz);
        o += cnt * isz;
        i += cnt;
    }
}
