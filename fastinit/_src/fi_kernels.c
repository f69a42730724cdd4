/* Philox, the float16/bfloat16 conversions, the paths' dispatch and the fill loop.  Every file
 * is compiled with -ffp-contract=off and without -ffast-math: every operation rounds once, as
 * written, which is what makes all paths (fi_kernels_<isa>.c: one math, fi_math.h, and one group
 * loop, fi_groups.h, over each path's primitives and Philox words) bit-identical. */
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

/* ---------------- the paths, in order of preference ---------------- */

/* ngroups whole groups from group g0 into dst (fi_groups.h); stream: float32 values past the
 * caches where the path can (dst is then 16-byte aligned) */
typedef void (*fi_groups_fn)(const fi_params *, uint64_t, int64_t, void *, int);

void fi_groups_scalar(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst, int stream);
static int fi_always(void) { return 1; }

#if defined(__x86_64__) && defined(__GNUC__)
#define FI_HAVE_X86_SIMD 1
void fi_groups_avx512(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst, int stream);
void fi_groups_avx2(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst, int stream);
#include <cpuid.h>

static int fi_cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

/* F16C from CPUID leaf 1 (ECX bit 29): clang (14) has no __builtin_cpu_supports("f16c").  Its
 * registers are the AVX (YMM) state, whose OS support __builtin_cpu_supports("avx2") checks. */
static int fi_cpu_has_avx2_f16c(void) {
    unsigned a, b, c, d;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}
#endif

#if defined(__aarch64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FI_HAVE_NEON 1
void fi_groups_neon(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst, int stream);
#endif

static const struct {
    int path;
    fi_groups_fn groups;
    int (*available)(void);   /* this CPU can run it */
} FI_PATHS[] = {
#ifdef FI_HAVE_X86_SIMD
    {FI_PATH_AVX512, fi_groups_avx512, fi_cpu_has_avx512},
    {FI_PATH_AVX2, fi_groups_avx2, fi_cpu_has_avx2_f16c},
#endif
#ifdef FI_HAVE_NEON
    {FI_PATH_NEON, fi_groups_neon, fi_always},   /* Advanced SIMD: part of every AArch64 CPU */
#endif
    {FI_PATH_SCALAR, fi_groups_scalar, fi_always},
};
#define FI_NPATHS (int)(sizeof FI_PATHS / sizeof FI_PATHS[0])

int fi_path_available(int path) {
    for (int i = 0; i < FI_NPATHS; i++)
        if (FI_PATHS[i].path == path) return FI_PATHS[i].available();
    return 0;   /* not in this build */
}

int fi_best_path(void) {
    for (int i = 0; i < FI_NPATHS; i++)
        if (FI_PATHS[i].available()) return FI_PATHS[i].path;
    return FI_PATH_SCALAR;
}

static fi_groups_fn groups_for(int path) {
    for (int i = 0; i < FI_NPATHS; i++)
        if (FI_PATHS[i].path == path) return FI_PATHS[i].groups;
    return fi_groups_scalar;
}

/* ---------------- the fill loop ---------------- */

void fi_fill_ex(const fi_params *p, void *out, int64_t n, uint64_t first, int path, int stream) {
    const fi_groups_fn groups = groups_for(path);
    const int G = fi_group_size(p->dtype), isz = fi_itemsize(p->dtype);
    char *o = (char *)out;
    uint64_t i = first, end = first + (uint64_t)n;
    double tmp[64];  /* one group of any dtype: 64 * 8 bytes */
    while (i < end) {
        uint64_t g = i / G, e0 = i % G;
        if (e0 == 0 && end - i >= (uint64_t)G) {   /* a run of whole groups, written in place */
            int64_t ng = (int64_t)((end - i) / G);
            groups(p, g, ng, o, stream && ((uintptr_t)o & 15) == 0);
            o += (size_t)ng * G * isz;
            i += (uint64_t)ng * G;
            continue;
        }
        uint64_t cnt = (uint64_t)G - e0;            /* a partial group goes through tmp */
        if (cnt > end - i) cnt = end - i;
        groups(p, g, 1, tmp, 0);
        memcpy(o, (char *)tmp + e0 * isz, cnt * isz);
        o += cnt * isz;
        i += cnt;
    }
}

void fi_fill(const fi_params *p, void *out, int64_t n, uint64_t first, int path) {
    fi_fill_ex(p, out, n, first, path, 0);
}
