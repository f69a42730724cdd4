/* Philox, the portable path, dispatch and the fill loop.  Compiled with -ffp-contract=off and
 * without -ffast-math: every operation rounds once, as written, which is what makes all paths
 * (this one, fi_kernels_avx2.c, fi_kernels_avx512.c; one math in fi_math.h) bit-identical. */
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

/* ---------------- the portable path: fi_math.h over 1-lane primitives ---------------- */

#include "fi_simd_scalar.h"
#include "fi_math.h"

static void groups_scalar(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst, int stream) {
    const size_t group_bytes = fi_group_bytes(p->dtype);
    fi_narrow narrow;
    (void)stream;   /* the reference path stores plainly */
    narrow_init(&narrow, p, 0);
    for (int64_t gi = 0; gi < ngroups; gi++) {
        uint64_t g = g0 + (uint64_t)gi;
        uint32_t words[64];         /* word w of block l at 16w + l */
        for (int l = 0; l < 16; l++) {
            uint64_t b = 16 * g + (uint64_t)l;
            uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), p->stream[0], p->stream[1]};
            uint32_t out[4];
            fi_philox4x32_10(ctr, p->key, out);
            for (int w = 0; w < 4; w++) words[16 * w + l] = out[w];
        }
        char *o = (char *)dst + group_bytes * (size_t)gi;
        if (p->dtype != FI_F64) {   /* element e: word e / 16 of block e % 16 */
            narrow_vectors(&narrow, words, FI_NVF, o, FI_KIND_ANY);
            continue;
        }
        uint64_t k[32];             /* element 16h + l: words 2h (low) and 2h+1 (high) of block l */
        for (int e = 0; e < 32; e++)
            k[e] = (uint64_t)words[32 * (e / 16) + e % 16] | ((uint64_t)words[32 * (e / 16) + 16 + e % 16] << 32);
        wide_vectors(p, k, FI_NVD, (double *)o);
    }
}

/* ---------------- dispatch and the fill loop ---------------- */

/* ngroups whole groups from group g0 into dst; stream: float32 stores past the caches (dst is
 * then 16-byte aligned; the caller fences) */
typedef void (*groups_fn)(const fi_params *, uint64_t, int64_t, void *, int);

#if defined(__x86_64__) && defined(__GNUC__)
void fi_groups_avx512(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst, int stream);
void fi_groups_avx2(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst, int stream);
#define FI_HAVE_X86_SIMD 1
#include <xmmintrin.h>   /* _mm_sfence */
#include <cpuid.h>
#endif

#ifdef FI_HAVE_X86_SIMD
/* F16C from CPUID leaf 1 (ECX bit 29): clang (14) has no __builtin_cpu_supports("f16c").  Its
 * registers are the AVX (YMM) state, whose OS support __builtin_cpu_supports("avx2") checks. */
static int fi_cpu_has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}
#endif

int fi_path_available(int path) {
    if (path == FI_PATH_SCALAR) return 1;
#ifdef FI_HAVE_X86_SIMD
    __builtin_cpu_init();
    if (path == FI_PATH_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    if (path == FI_PATH_AVX2)
        return __builtin_cpu_supports("avx2") && fi_cpu_has_f16c();
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

void fi_fill_ex(const fi_params *p, void *out, int64_t n, uint64_t first, int path, int stream) {
    groups_fn gen = groups_for(path);
#ifdef FI_HAVE_X86_SIMD
    stream = stream && path != FI_PATH_SCALAR && p->dtype == FI_F32;
    int streamed = 0;
#else
    stream = 0;
#endif
    const int G = fi_group_size(p->dtype), isz = fi_itemsize(p->dtype);
    char *o = (char *)out;
    uint64_t i = first, end = first + (uint64_t)n;
    double tmp[64];  /* one group of any dtype: 64 * 8 bytes */
    while (i < end) {
        uint64_t g = i / G, e0 = i % G;
        if (e0 == 0 && end - i >= (uint64_t)G) {   /* a run of whole groups, written in place */
            int64_t ng = (int64_t)((end - i) / G);
            const int st = stream && ((uintptr_t)o & 15) == 0;
            gen(p, g, ng, o, st);
#ifdef FI_HAVE_X86_SIMD
            streamed |= st;
#endif
            o += (size_t)ng * G * isz;
            i += (uint64_t)ng * G;
            continue;
        }
        uint64_t cnt = (uint64_t)G - e0;            /* a partial group goes through tmp */
        if (cnt > end - i) cnt = end - i;
        gen(p, g, 1, tmp, 0);
        memcpy(o, (char *)tmp + e0 * isz, cnt * isz);
        o += cnt * isz;
        i += cnt;
    }
#ifdef FI_HAVE_X86_SIMD
    if (streamed) _mm_sfence();   /* stream stores are weakly ordered: done before we return */
#endif
}

void fi_fill(const fi_params *p, void *out, int64_t n, uint64_t first, int path) {
    fi_fill_ex(p, out, n, first, path, 0);
}
