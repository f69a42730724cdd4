/* The per-element math of every fill, written once over the vector primitives of one ISA.
 *
 * Include after fi_kernels.h and one path's primitives (fi_simd_<isa>.h); fi_groups.h, the group
 * loop, turns Philox words into values with it.
 * Each primitive is one IEEE operation (or an exact integer one) per lane, and this file fixes
 * their order, so every path computes every lane identically: results are bit-identical on all
 * paths (built with -ffp-contract=off; no libm).  Where scalar code would branch, the math below
 * computes both sides and blends, taking a side only when some lane of the vector needs it.
 *
 * Functions work on batches of FI_NBF float / FI_NBD double vectors at once: each step loops over
 * the batch, so the CPU sees that many independent dependency chains to overlap.
 *
 * Everything is static: each translation unit gets its own copy for its ISA. */
#ifndef FI_MATH_H
#define FI_MATH_H
#include <string.h>
#include "fi_tables.h"

#define FOR_F for (int j = 0; j < FI_NBF; j++)
#define FOR_D for (int j = 0; j < FI_NBD; j++)
#define FI_NVF (64 / FI_FL)   /* float vectors in a narrow group (64 elements) */
#define FI_NVD (32 / FI_DL)   /* double vectors in a wide group (32 elements) */

/* ================= float32 ================= */

/* -(c[0] + c[1] x + .. + c[n-1] x^(n-1)) by Horner's rule on the negated coefficients: rounding
 * to nearest is symmetric, so every step is the exact negation of the step on c */
static inline vf horner_neg_f(const float *c, int n, vf x) {
    vf acc = f_set(-c[n - 1]);
    for (int k = n - 2; k >= 0; k--) acc = f_add(f_mul(acc, x), f_set(-c[k]));
    return acc;
}

static inline void horner_neg_fv(const float *c, int n, const vf x[FI_NBF], vf acc[FI_NBF]) {
    FOR_F acc[j] = f_set(-c[n - 1]);
    for (int k = n - 2; k >= 0; k--) {
        const vf ck = f_set(-c[k]);
        FOR_F acc[j] = f_add(f_mul(acc[j], x[j]), ck);
    }
}

/* -log(4x) for positive floats x with 4x normal (x >= 2^-128), to an absolute error below 1e-7 (what the
 * probit's w = -log(4t(1-t)) needs: z's relative error is about 0.16 |dw|): x = 2^e m, m in
 * [1, 2), i the top 3 bits of m's fraction, log x = e ln2 - log(INV[i]) + log1p(r), r = m INV[i] - 1
 * in [-1/17, 1/17], log1p(r) = r (1 - r/2 + r^2/3 - r^3/4 + r^4/5).  No division; an 8-entry table
 * is one permute on both AVX2 and AVX-512.  -log x is formed directly, as -e, the negated series
 * coefficients and subtractions of the positive table entries: rounding to nearest is symmetric,
 * so each step is the exact negation of the step of log x (a zero's sign aside, which nothing
 * below can see), one negation fewer. */
static inline void neglog4_fv(const vf x[FI_NBF], vf out[FI_NBF]) {
    vf r[FI_NBF], nef[FI_NBF], nl[FI_NBF], npl[FI_NBF];
    FOR_F {
        vi b = f_bits(x[j]);
        vi idx = i_srl(i_and(b, i_set(0x007fffffu)), 20);
        vf m = i_as_f(i_or(i_and(b, i_set(0x007fffffu)), i_set(0x3f800000u)));
        r[j] = f_sub(f_mul(m, f_lookup8(FI_LOG32_INV, idx)), f_set(1.0f));
        nl[j] = f_lookup8(FI_LOG32_NEGLOG, idx);
        /* -e = 127 - E exactly, E the biased exponent, as (2^23 + 127) - bits(2^23 + E): an or
         * and a subtraction instead of an integer subtraction and a conversion (port 0/1).  The
         * caller passes x = y / 4 (see probit_lower_fv) and means y: the same fraction, the biased
         * exponent E + 2, so -e = 125 - E, as (2^23 + 125) - bits(2^23 + E), also exact */
        nef[j] = f_sub(f_set(8388733.0f), i_as_f(i_or(i_srl(b, 23), i_set(0x4b000000u))));
        npl[j] = f_set(-0.2f);
    }
    FOR_F npl[j] = f_add(f_mul(npl[j], r[j]), f_set(0.25f));
    FOR_F npl[j] = f_add(f_mul(npl[j], r[j]), f_set(-1.0f / 3));
    FOR_F npl[j] = f_add(f_mul(npl[j], r[j]), f_set(0.5f));
    FOR_F npl[j] = f_add(f_mul(npl[j], r[j]), f_set(-1.0f));
    FOR_F {
        vf nlp = f_mul(r[j], npl[j]);
        out[j] = f_add(f_sub(f_mul(nef[j], f_set((float)FI_LN2_HI_F32)), nl[j]),
                       f_add(nlp, f_mul(nef[j], f_set((float)FI_LN2_LO_F32))));
    }
}

/* z <= 0 with Phi(z) = t, given t in [1e-30, 1/2] and q = 1/2 - t (passed in: callers often
 * know it more precisely than 0.5f - t).  Giles' variable w = -log(4t(1-t)), as -log of
 * t(1/2 + q) with 2 added to its exponent (neglog4_fv): t(1/2 + q) >= 5e-31 is a normal float,
 * so 4t(1/2 + q) would be exactly that float times 4 (same fraction, exponent + 2), and the
 * multiply by 4 is saved.  The fitted polynomials give the upper quantile -z >= 0; on their negated
 * coefficients (horner_neg_fv) they give z itself, so the callers' sign flip is the only one. */
static inline void probit_lower_fv(const vf t[FI_NBF], const vf q[FI_NBF], vf z[FI_NBF]) {
    vf y[FI_NBF], w[FI_NBF], x[FI_NBF];
    FOR_F y[j] = f_mul(t[j], f_add(f_set(0.5f), q[j]));   /* 4t(1-t) / 4 */
    neglog4_fv(y, w);
    FOR_F x[j] = f_sub(w[j], f_set(2.5f));
    horner_neg_fv(FI_P32_CENTRAL, FI_P32_CENTRAL_N, x, z);
    FOR_F {
        z[j] = f_mul(q[j], z[j]);
        mf tail = f_gt_finite(w[j], f_set(5.0f));
        if (mf_any(tail)) {   /* rare: w > 5 is t < 0.0017 */
            vf s = f_sqrt(w[j]);
            vf zt = horner_neg_f(FI_P32_TAIL, FI_P32_TAIL_N, f_sub(s, f_set(3.5f)));
            mf far = mf_and(f_gt_finite(s, f_set(4.75f)), tail);
            if (mf_any(far)) zt = f_blend(far, zt, horner_neg_f(FI_P32_FAR, FI_P32_FAR_N, f_sub(s, f_set(6.5f))));
            z[j] = f_blend(tail, z[j], zt);
        }
    }
}

/* Truncated normals (FI_INVERT, float32) take each draw's side from k itself (trunc_side_fv) on
 * primitives that offer the three operations it needs beyond the rest (FI_SIMD_HAS_SIDE_OPS;
 * fi_simd_avx2.h, where it measured faster than comparing both ends' probabilities, trunc_fv).
 * Same bits either way. */
#ifdef FI_SIMD_HAS_SIDE_OPS
#define FI_TRUNC_SIDE_BY_K 1
#endif

/* A narrow fill's parameters in float32, rounded and broadcast once per run of groups
 * (narrow_init): read from fi_params in the loop, they would be reloaded and converted after
 * every output store, since the (may-alias) vector stores could, for all the compiler knows,
 * change them. */
typedef struct {
    const fi_params *p;
    int clamp;   /* 0: clamping cannot change a value (normal_ into float32, far from overflow) */
    int stream;  /* float32 stores past the caches (f_stream; the output 16-byte aligned) */
    vf loc, scale, clamp_lo, clamp_hi, p_lo, p_hi, mass, coef[FI_SERIES_N];
#ifdef FI_TRUNC_SIDE_BY_K
    int side_by_k;   /* trunc_side_fv applies: its threshold below is exact */
    vi side_thr;     /* the draws from the upper end: (k ^ 2^31) > side_thr as signed integers */
    vf p_lo_hi;      /* p_lo in lane 0, p_hi in lane 7 (f_pick07) */
    vf mass_2m32;    /* mass 2^-32, exactly */
    int unit_scale;  /* scale == 1: z scale = z */
#endif
} fi_narrow;

#ifdef FI_TRUNC_SIDE_BY_K
/* trunc_fv's side for draw k, in scalar float32 operations that round exactly as its vector ones
 * (u_to_f rounds the unsigned k once, as the conversion here) */
static inline int trunc_from_hi(float p_lo, float p_hi, float mass, uint32_t k) {
    float u = ((float)k + 0.5f) * 0x1p-32f, v = ((float)(uint32_t)~k + 0.5f) * 0x1p-32f;
    float lo = p_lo + u * mass, hi = p_hi + v * mass;
    return lo > hi;
}

/* The least draw k* whose truncated normal comes from the upper end (2^32: none).  lo(k) is
 * non-decreasing in k and hi(k) non-increasing (every step is a rounding of a monotone function
 * of k, mass > 0), so lo > hi holds exactly for k >= k*: a binary search finds k*. */
static inline uint64_t trunc_side_threshold(float p_lo, float p_hi, float mass) {
    uint64_t lo = 0, hi = (uint64_t)1 << 32;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (trunc_from_hi(p_lo, p_hi, mass, (uint32_t)mid)) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}
#endif

static inline void narrow_init(fi_narrow *n, const fi_params *p, int stream) {
    n->p = p;
    n->stream = stream;
    /* |z| < 7 on every normal draw (t >= 2^-33: |z| <= 6.34), so with |loc| + 16 |scale| <= 2^127
     * loc + z scale in float32 stays below (|loc| + 7 |scale|)(1 + 2^-24)^3 < FLT_MAX: clamping
     * to +-FLT_MAX is the identity */
    const double aloc = p->loc < 0 ? -p->loc : p->loc, ascale = p->scale < 0 ? -p->scale : p->scale;
    n->clamp = !(p->dist == FI_NORMAL && p->dtype == FI_F32 && !p->wide && p->clamp_lo <= -0x1.fffffep127 &&
                 p->clamp_hi >= 0x1.fffffep127 && aloc + 16.0 * ascale <= 0x1p127);
    n->loc = f_set((float)p->loc);
    n->scale = f_set((float)p->scale);
    n->clamp_lo = f_set((float)p->clamp_lo);
    n->clamp_hi = f_set((float)p->clamp_hi);
    n->p_lo = f_set((float)p->p_lo);
    n->p_hi = f_set((float)p->p_hi);
    n->mass = f_set((float)p->mass);
    for (int c = 0; c < FI_SERIES_N; c++) n->coef[c] = f_set((float)p->coef[c]);
#ifdef FI_TRUNC_SIDE_BY_K
    n->side_by_k = 0;
    if (p->dist == FI_TRUNC && p->method == FI_INVERT && !p->wide && p->mass > 0) {
        const float plo = (float)p->p_lo, phi = (float)p->p_hi;
        const uint64_t kstar = trunc_side_threshold(plo, phi, (float)p->mass);
        /* (mass 2^-32 exact, i.e. not below 2^-94 with bits lost: then (y 2^-32) mass and
         * y (mass 2^-32) are both the exact y mass 2^-32, rounded once) */
        /* k >= k* as (k ^ 2^31) > ((k* - 1) ^ 2^31), signed: k* = 2^32 gives INT_MAX (never);
         * k* = 0 (every draw from above) has no such threshold and keeps trunc_fv */
        const float mass = (float)p->mass, mass_2m32 = mass * 0x1p-32f;
        n->side_by_k = kstar > 0 && mass_2m32 * 0x1p32f == mass;
        n->mass_2m32 = f_set(mass_2m32);
        n->unit_scale = (float)p->scale == 1.0f;
        n->side_thr = i_set((uint32_t)(kstar - 1) ^ 0x80000000u);
        float tab[8] = {plo, plo, plo, plo, plo, plo, plo, phi};
        memcpy(&n->p_lo_hi, tab, sizeof tab);
    }
#endif
}

static inline vf affine_f(const fi_narrow *n, vf z) {
    return f_add(n->loc, f_mul(z, n->scale));
}

static inline vf clamp_f(const fi_narrow *n, vf x) {
    return f_atmost(f_atleast(x, n->clamp_lo), n->clamp_hi);
}

/* U[loc, loc + scale): the top 24 bits as a multiple of 2^-24 */
static inline vf uniform_f(const fi_narrow *p, vi k) {
    return affine_f(p, f_mul(i_to_f(i_srl(k, 8)), f_set(0x1p-24f)));
}

/* N(loc, scale^2) by inversion: the sign bit picks the side (set: upper), the other 31 bits the
 * distance a from that end, t = (a + 1/2) 2^-32 in (0, 1/2) */
static inline void normal_fv(const fi_narrow *p, const vi k[FI_NBF], vf out[FI_NBF]) {
    vf t[FI_NBF], q[FI_NBF], z[FI_NBF];
    FOR_F {
        vi a = i_xor(k[j], i_sign(k[j]));   /* the sign bit's copies clear it: a < 2^31 */
        t[j] = f_mul(f_add(i_to_f(a), f_set(0.5f)), f_set(0x1p-32f));
        q[j] = f_mul(f_add(i_to_f(i_sub(i_set(0x7fffffffu), a)), f_set(0.5f)), f_set(0x1p-32f));
    }
    probit_lower_fv(t, q, z);
    FOR_F out[j] = affine_f(p, f_neg_where(i_signbit(k[j]), z[j]));
}

/* Truncated normal by inversion: P = Phi(alpha) + u * mass from below, Q = Phi(-beta) +
 * (1 - u) * mass from above; the smaller is the tail probability inverted, so both far tails
 * keep full relative precision. */
static inline void trunc_fv(const fi_narrow *p, const vi k[FI_NBF], vf out[FI_NBF]) {
    vf t[FI_NBF], q[FI_NBF], z[FI_NBF];
    mf from_hi[FI_NBF];
    const vf mass = p->mass;
    FOR_F {
        vf ku, kv;
        u_to_f_and_not(k[j], &ku, &kv);
        vf u = f_mul(f_add(ku, f_set(0.5f)), f_set(0x1p-32f));
        vf v = f_mul(f_add(kv, f_set(0.5f)), f_set(0x1p-32f));
        vf lo = f_add(p->p_lo, f_mul(u, mass));
        vf hi = f_add(p->p_hi, f_mul(v, mass));
        from_hi[j] = f_gt_finite(lo, hi);
        t[j] = f_atmost(lo, hi);   /* lo where lo <= hi, else hi (never NaN) */
        q[j] = f_sub(f_set(0.5f), t[j]);
    }
    probit_lower_fv(t, q, z);
    FOR_F out[j] = affine_f(p, f_neg_where(from_hi[j], z[j]));
}

#ifdef FI_TRUNC_SIDE_BY_K
/* trunc_fv with the side taken from k itself (n->side_by_k: k >= k*, narrow_init), so only the
 * nearer end's probability is formed: from above, ~k's uniform v and p_hi, which is exactly the
 * smaller of lo and hi that trunc_fv picks; the same bits with one conversion and one
 * multiply-add instead of two.  (u_to_f(k) + 1/2) 2^-32 mass is formed as
 * (u_to_f(k) + 1/2) (mass 2^-32): both are the one rounding of the same exact product. */
static inline void trunc_side_fv(const fi_narrow *p, const vi k[FI_NBF], vf out[FI_NBF]) {
    vf t[FI_NBF], q[FI_NBF], z[FI_NBF];
    mf from_hi[FI_NBF];
    const vf mass = p->mass_2m32;
    FOR_F {
        from_hi[j] = i_gt(i_xor(k[j], i_set(0x80000000u)), p->side_thr);
        vf x = f_add(u_to_f_bits(i_xor_where(from_hi[j], k[j])), f_set(0.5f));
        t[j] = f_add(f_pick07(from_hi[j], p->p_lo_hi), f_mul(x, mass));
        q[j] = f_sub(f_set(0.5f), t[j]);
    }
    probit_lower_fv(t, q, z);
    if (p->unit_scale) { FOR_F out[j] = f_add(p->loc, f_neg_where(from_hi[j], z[j])); }   /* z 1 = z */
    else { FOR_F out[j] = affine_f(p, f_neg_where(from_hi[j], z[j])); }
}
#endif

/* Truncated normal on a narrow interval (FI_SERIES): the density is nearly flat across it, so the
 * offset from a is a short power series in u, x = a + std D(h) u P(u) (see trunc_params in
 * fastinit/kernels.py); no probabilities near 1/2 are formed, so the values keep full resolution
 * however narrow the interval is relative to std. */
static inline void trunc_series_fv(const fi_narrow *p, const vi k[FI_NBF], vf out[FI_NBF]) {
    vf u[FI_NBF], acc[FI_NBF];
    FOR_F { u[j] = f_mul(f_add(u_to_f(k[j]), f_set(0.5f)), f_set(0x1p-32f)); acc[j] = p->coef[FI_SERIES_N - 1]; }
    for (int c = FI_SERIES_N - 2; c >= 0; c--) {
        const vf ck = p->coef[c];
        FOR_F acc[j] = f_add(f_mul(acc[j], u[j]), ck);
    }
    FOR_F out[j] = affine_f(p, f_mul(u[j], acc[j]));
}

/* ================= float64 ================= */

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

/* float64 log: log1p(f) = 2 atanh(s), s = f / (2 + f): odd Taylor series 2 (s + s^3/3 + ...);
 * |s| <= 0.2 on the reduced range, so 12 terms reach float64 rounding. */
#define FI_LOG_TERMS_F64 12

static inline vd horner_d(const double *c, int n, vd x) {
    vd acc = d_set(c[n - 1]);
    for (int k = n - 2; k >= 0; k--) acc = d_add(d_mul(acc, x), d_set(c[k]));
    return acc;
}

static inline void horner_dv(const double *c, int n, const vd x[FI_NBD], vd acc[FI_NBD]) {
    FOR_D acc[j] = d_set(c[n - 1]);
    for (int k = n - 2; k >= 0; k--) {
        const vd ck = d_set(c[k]);
        FOR_D acc[j] = d_add(d_mul(acc[j], x[j]), ck);
    }
}

/* Estrin's scheme for one vector, c[0] + c[1] x + .. + c[n-1] x^(n-1), n <= 16: pairs
 * c[2i] + c[2i+1] x, then pairs of those with x^2, x^4, ..: a dependency depth of ~2 log2(n)
 * operations instead of Horner's 2n.  Used on the float64 tail, whose few vectors are
 * latency-bound (log -> sqrt -> polynomial); the order of operations is fixed, as everywhere. */
static inline vd estrin_d(const double *c, int n, vd x) {
    vd a[8];
    int m = (n + 1) / 2;
    for (int i = 0; i < m; i++)
        a[i] = 2 * i + 1 < n ? d_add(d_set(c[2 * i]), d_mul(d_set(c[2 * i + 1]), x)) : d_set(c[2 * i]);
    vd pw = d_mul(x, x);
    while (m > 1) {
        int h = (m + 1) / 2;
        for (int i = 0; i < h; i++) a[i] = 2 * i + 1 < m ? d_add(a[2 * i], d_mul(a[2 * i + 1], pw)) : a[2 * i];
        m = h;
        if (m > 1) pw = d_mul(pw, pw);
    }
    return a[0];
}

/* 1 / (2k + 1), k = 0 .. FI_LOG_TERMS_F64 - 1: the atanh series of log_d */
static const double FI_LOG_SERIES_F64[FI_LOG_TERMS_F64] = {
    1.0, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23};

/* as neglog4_fv, for log itself */
static inline vd log_d(vd x) {
    vl b = d_bits(x);
    vl e = l_sub(l_srl(b, 52), l_set(1023));
    vl mb = l_or(l_and(b, l_set(0x000fffffffffffffull)), l_set(0x3ff0000000000000ull));
    md big = l_gt(mb, l_set(0x3ff7ffffffffffffull));
    mb = l_blend(big, mb, l_sub(mb, l_set(0x0010000000000000ull)));
    e = l_blend(big, e, l_add(e, l_set(1)));
    vd f = d_sub(l_as_d(mb), d_set(1.0));
    vd s = d_div(f, d_add(d_set(2.0), f));
    vd s2 = d_mul(s, s);
    vd r = estrin_d(FI_LOG_SERIES_F64, FI_LOG_TERMS_F64, s2);
    vd l = d_mul(d_add(s, s), r);
    vd ef = l_small_to_d(e);
    return d_add(d_mul(ef, d_set(FI_LN2_HI_F64)), d_add(l, d_mul(ef, d_set(FI_LN2_LO_F64))));
}

/* z >= 0 with Phi(z) = 1 - t (t in (0, 1/2], q = 1/2 - t): Wichura's AS 241 */
static inline void probit_upper_dv(const vd t[FI_NBD], const vd q[FI_NBD], vd z[FI_NBD]) {
    vd r[FI_NBD], num[FI_NBD], den[FI_NBD];
    md tail[FI_NBD];
    int any_tail = 0;
    FOR_D r[j] = d_sub(d_set(0.180625), d_mul(q[j], q[j]));
    horner_dv(FI_AS241_A, 8, r, num);
    horner_dv(FI_AS241_B, 8, r, den);
    FOR_D {
        num[j] = d_mul(q[j], num[j]);
        tail[j] = d_gt(q[j], d_set(0.425));
        any_tail |= md_any(tail[j]);
    }
    if (any_tail) {
#if FI_COMPACT
        /* The tail lanes (about 15%) are packed into as few vectors as possible, computed there
         * and put back: the same operations per lane, on a quarter of the vectors. */
        vd pt[FI_NBD + 2], pn[FI_NBD + 2], pd[FI_NBD + 2];
        int cnt = 0;
        pt[0] = d_set(0.25);
        FOR_D cnt = d_pack(pt, cnt, tail[j], t[j]);
        const int nv = (cnt + FI_DL - 1) / FI_DL;
        vd rt[FI_NBD], rr[FI_NBD], tn[FI_NBD], td[FI_NBD];
        for (int j = 0; j < nv; j++) {
            rt[j] = d_sqrt(d_neg(log_d(pt[j])));
            rr[j] = d_sub(rt[j], d_set(1.6));
            tn[j] = estrin_d(FI_AS241_C, 8, rr[j]);
            td[j] = estrin_d(FI_AS241_D, 8, rr[j]);
        }
        for (int j = 0; j < nv; j++) {
            md far = d_gt(rt[j], d_set(5.0));
            if (md_any(far)) {
                vd rf = d_sub(rt[j], d_set(5.0));
                tn[j] = d_blend(far, tn[j], estrin_d(FI_AS241_E, 8, rf));
                td[j] = d_blend(far, td[j], estrin_d(FI_AS241_F, 8, rf));
            }
            pn[j] = tn[j];
            pd[j] = td[j];
        }
        pn[nv] = pd[nv] = d_set(0.0);
        int off = 0;
        FOR_D {
            num[j] = d_unpack(pn, off, tail[j], num[j]);
            den[j] = d_unpack(pd, off, tail[j], den[j]);
            off += md_count(tail[j]);
        }
#else
        vd rt[FI_NBD], rr[FI_NBD], tn[FI_NBD], td[FI_NBD];
        FOR_D {
            rt[j] = d_sqrt(d_neg(log_d(t[j])));
            rr[j] = d_sub(rt[j], d_set(1.6));
            tn[j] = estrin_d(FI_AS241_C, 8, rr[j]);
            td[j] = estrin_d(FI_AS241_D, 8, rr[j]);
        }
        FOR_D {
            md far = md_and(d_gt(rt[j], d_set(5.0)), tail[j]);
            if (md_any(far)) {
                vd rf = d_sub(rt[j], d_set(5.0));
                tn[j] = d_blend(far, tn[j], estrin_d(FI_AS241_E, 8, rf));
                td[j] = d_blend(far, td[j], estrin_d(FI_AS241_F, 8, rf));
            }
            num[j] = d_blend(tail[j], num[j], tn[j]);
            den[j] = d_blend(tail[j], den[j], td[j]);
        }
#endif
    }
    FOR_D z[j] = d_div(num[j], den[j]);
}

static inline vd affine_d(const fi_params *p, vd z) {
    return d_add(d_set(p->loc), d_mul(z, d_set(p->scale)));
}

static inline vd clamp_d(const fi_params *p, vd x) {
    const vd lo = d_set(p->clamp_lo), hi = d_set(p->clamp_hi);
    return d_atmost(d_atleast(x, lo), hi);
}

/* t (the nearer tail probability), q = 1/2 - t and the side of a truncated-normal draw from
 * u and v = 1 - u (as trunc_fv) */
static inline void trunc_prep_d(const fi_params *p, vd u, vd v, vd *t, vd *q, md *from_lo) {
    vd lo = d_add(d_set(p->p_lo), d_mul(u, d_set(p->mass)));
    vd hi = d_add(d_set(p->p_hi), d_mul(v, d_set(p->mass)));
    *from_lo = d_le(lo, hi);
    *t = d_blend(*from_lo, hi, lo);
    *q = d_sub(d_set(0.5), *t);
}

/* as trunc_series_fv, from uniforms u in (0, 1) */
static inline void trunc_series_dv(const fi_params *p, const vd u[FI_NBD], vd out[FI_NBD]) {
    vd acc[FI_NBD];
    FOR_D acc[j] = d_set(p->coef[FI_SERIES_N - 1]);
    for (int c = FI_SERIES_N - 2; c >= 0; c--) {
        const vd ck = d_set(p->coef[c]);
        FOR_D acc[j] = d_add(d_mul(acc[j], u[j]), ck);
    }
    FOR_D out[j] = affine_d(p, d_mul(u[j], acc[j]));
}

/* 64-bit draws -> float64 values (before clamping) */
static inline void wide_dv(const fi_params *p, const vl k[FI_NBD], vd x[FI_NBD]) {
    if (p->dist == FI_UNIFORM) {
        FOR_D x[j] = affine_d(p, d_mul(l_to_d(l_srl(k[j], 11)), d_set(0x1p-53)));
        return;
    }
    if (p->method == FI_SERIES) {
        vd u[FI_NBD];
        FOR_D u[j] = d_mul(d_add(l_to_d(l_srl(k[j], 11)), d_set(0.5)), d_set(0x1p-53));
        trunc_series_dv(p, u, x);
        return;
    }
    vd t[FI_NBD], q[FI_NBD], z[FI_NBD];
    md neg[FI_NBD];
    FOR_D {
        if (p->dist == FI_NORMAL) {
            vl sign = l_sign(k[j]);
            vl a = l_and(l_xor(k[j], sign), l_set(0x7fffffffffffffffull));
            t[j] = d_mul(d_add(l_to_d(a), d_set(0.5)), d_set(0x1p-64));
            q[j] = d_mul(d_add(l_to_d(l_sub(l_set(0x7fffffffffffffffull), a)), d_set(0.5)), d_set(0x1p-64));
            neg[j] = l_eq(sign, l_set(0));
        } else {
            vd u = d_mul(d_add(l_to_d(l_srl(k[j], 11)), d_set(0.5)), d_set(0x1p-53));
            vd v = d_mul(d_add(l_to_d(l_srl(l_xor(k[j], l_set(~0ull)), 11)), d_set(0.5)), d_set(0x1p-53));
            trunc_prep_d(p, u, v, &t[j], &q[j], &neg[j]);
        }
    }
    probit_upper_dv(t, q, z);
    FOR_D x[j] = affine_d(p, d_neg_where(neg[j], z[j]));
}

/* truncated normal computed in float64 from 32-bit draws (narrow outputs whose interval is too
 * far out or too thin for the float32 probit), rounded once to float32 */
static inline void trunc_wide_fv(const fi_params *p, const vi k[FI_NBF], vf out[FI_NBF]) {
    enum { ND = FI_NBF * FI_DPF };   /* double vectors in the batch */
    vd res[ND];
    for (int d0 = 0; d0 < ND; d0 += FI_NBD) {
        vd u[FI_NBD], v[FI_NBD], t[FI_NBD], q[FI_NBD], z[FI_NBD];
        md from_lo[FI_NBD];
        FOR_D {
            int fj = (d0 + j) / FI_DPF, part = (d0 + j) % FI_DPF;
            u[j] = d_mul(d_add(i_part_to_d(k[fj], part), d_set(0.5)), d_set(0x1p-32));
            v[j] = d_mul(d_add(i_part_to_d(i_xor(k[fj], i_set(0xffffffffu)), part), d_set(0.5)), d_set(0x1p-32));
        }
        if (p->method == FI_SERIES) {
            trunc_series_dv(p, u, res + d0);
            continue;
        }
        FOR_D trunc_prep_d(p, u[j], v[j], &t[j], &q[j], &from_lo[j]);
        probit_upper_dv(t, q, z);
        FOR_D res[d0 + j] = affine_d(p, d_neg_where(from_lo[j], z[j]));
    }
    FOR_F out[j] = d_parts_to_f(res + FI_DPF * j);
}

/* ================= groups: values and stores ================= */

/* 32-bit draws -> clamped float32 values */
/* The common float32 fills, which fi_groups.h gives loops of their own (narrow_vectors' kind, a
 * constant there): the dispatch below then folds away, and each loop is register-allocated for
 * its own math.  FI_KIND_ANY decides per batch, from fi_params. */
enum { FI_KIND_ANY, FI_KIND_UNIFORM_F32, FI_KIND_NORMAL_F32 };

static inline int narrow_kind(const fi_params *p) {
    if (p->dtype != FI_F32) return FI_KIND_ANY;
    if (p->dist == FI_UNIFORM) return FI_KIND_UNIFORM_F32;
    return p->dist == FI_NORMAL ? FI_KIND_NORMAL_F32 : FI_KIND_ANY;
}

static inline __attribute__((always_inline)) void narrow_fv(const fi_narrow *n, const vi k[FI_NBF], vf x[FI_NBF], int kind) {
    const fi_params *p = n->p;
    if (kind == FI_KIND_UNIFORM_F32) { FOR_F x[j] = uniform_f(n, k[j]); }
    else if (kind == FI_KIND_NORMAL_F32) normal_fv(n, k, x);
    else if (p->dist == FI_UNIFORM) { FOR_F x[j] = uniform_f(n, k[j]); }
    else if (p->dist == FI_NORMAL) normal_fv(n, k, x);
    else if (p->wide) trunc_wide_fv(p, k, x);
    else if (p->method == FI_SERIES) trunc_series_fv(n, k, x);
#ifdef FI_TRUNC_SIDE_BY_K
    else if (n->side_by_k) trunc_side_fv(n, k, x);
#endif
    else trunc_fv(n, k, x);
    if (kind != FI_KIND_NORMAL_F32 || n->clamp) FOR_F x[j] = clamp_f(n, x[j]);   /* (skipped in normal's own loop only) */
}

/* bfloat16: round to nearest even on the float32 bits (values are finite) */
static inline vi bf16_bits(vf x) {
    vi b = f_bits(x);
    vi odd = i_and(i_srl(b, 16), i_set(1));
    return i_srl(i_add(i_add(b, i_set(0x7fff)), odd), 16);
}

/* nvec narrow vectors (a multiple of FI_NBF; 64 / FI_FL per group of float32/float16/bfloat16
 * elements): k[j] feeds elements FI_FL*j .. FI_FL*j + FI_FL - 1 of dst */
static inline __attribute__((always_inline)) void narrow_vectors(const fi_narrow *n, const vi *k, int nvec, void *dst, int kind) {
    const fi_params *p = n->p;
    for (int b = 0; b < nvec; b += FI_NBF) {
        vf x[FI_NBF];
        narrow_fv(n, k + b, x, kind);
        FOR_F {
            size_t e = (size_t)FI_FL * (size_t)(b + j);
            if (kind != FI_KIND_ANY || p->dtype == FI_F32) {
                if (n->stream) f_stream((float *)dst + e, x[j]);
                else f_store((float *)dst + e, x[j]);
            }
            else if (p->dtype == FI_F16) f_store_f16((uint16_t *)dst + e, x[j]);
            else i_store_u16((uint16_t *)dst + e, bf16_bits(x[j]));
        }
    }
}

/* nvec wide vectors (a multiple of FI_NBD; 32 / FI_DL per group of float64 elements): k[j] feeds
 * elements FI_DL*j .. of dst */
static inline void wide_vectors(const fi_params *p, const vl *k, int nvec, double *dst) {
    for (int b = 0; b < nvec; b += FI_NBD) {
        vd x[FI_NBD];
        wide_dv(p, k + b, x);
        FOR_D d_store(dst + (size_t)FI_DL * (size_t)(b + j), clamp_d(p, x[j]));
    }
}
#endif
