/* The group loop, written once for every path: a path's Philox words in, values (fi_math.h) and
 * stores out.  The one thing a path supplies is its words function (the bit source), over its
 * primitives.  A path's file includes fi_kernels.h, its primitives (fi_simd_<isa>.h) and
 * fi_math.h, then defines
 *
 *   FI_WORDS_NG     groups that one call of its words function produces (more than one: that
 *                   many independent Philox chains for the CPU to overlap, and the math then
 *                   runs on all of their vectors at once)
 *   fi_words(p, g, x)
 *                   static inline void, vi x[FI_WORDS_NG * FI_NVF]: the Philox words of groups
 *                   g .. g + FI_WORDS_NG - 1, x[j] feeding narrow elements FI_FL*j .. FI_FL*j +
 *                   FI_FL - 1 of that run (fi_kernels.h's layout: word w of block 16g + l feeds
 *                   element 16w + l of group g)
 *   FI_GROUPS_FN    the name of the function this file defines, with fi_kernels.c's fi_groups_fn
 *                   signature
 *
 * and optionally FI_STREAM_SPLIT_UNIFORM_ONLY (below), then includes this file once. */
#ifndef FI_GROUPS_H
#define FI_GROUPS_H
#include <string.h>

/* Wide element 16h + l of a group joins words 2h (low half) and 2h + 1 (high half) of block l:
 * the lanes of words 2h and 2h + 1 that feed narrow elements 32h + l.. and 32h + 16 + l..
 * (constant indices once the loop is unrolled). */
static inline __attribute__((always_inline)) void fi_join_wide(const vi *x, vl *k) {
    for (int m = 0; m < FI_WORDS_NG * FI_NVD; m++) {
        const int e = FI_DL * (m % FI_NVD), h = e / 16, l = e % 16;
        const vi *xg = x + (m / FI_NVD) * FI_NVF;
        k[m] = l_join(xg[(32 * h + l) / FI_FL], xg[(32 * h + 16 + l) / FI_FL], (l % FI_FL) / FI_DL);
    }
}

/* The FI_WORDS_NG groups of x, as values, into dst */
static inline __attribute__((always_inline)) void fi_store_run(const fi_params *p, const fi_narrow *narrow, const vi *x,
                                                               void *dst, int kind) {
    if (kind != FI_KIND_ANY || p->dtype != FI_F64) {
        narrow_vectors(narrow, x, FI_WORDS_NG * FI_NVF, dst, kind);
        return;
    }
    vl k[FI_WORDS_NG * FI_NVD];
    fi_join_wide(x, k);
    wide_vectors(p, k, FI_WORDS_NG * FI_NVD, (double *)dst);
}

/* ngroups groups of one kind (narrow_kind; a constant in each function below) */
static inline __attribute__((always_inline)) void fi_groups_of_kind(fi_narrow *narrow, uint64_t g0, int64_t ngroups,
                                                                    void *dst, int kind) {
    const fi_params *p = narrow->p;
    const size_t group_bytes = fi_group_bytes(p->dtype);
    for (int64_t gi = 0; gi < ngroups; gi += FI_WORDS_NG) {
        vi x[FI_WORDS_NG * FI_NVF];
        fi_words(p, g0 + (uint64_t)gi, x);
        char *o = (char *)dst + group_bytes * (size_t)gi;
        /* (FI_WORDS_NG == 1 spelled out: gcc does not prove ngroups - gi >= 1 and would otherwise
         * inline all of the math a second time, for a branch that never runs) */
        if (FI_WORDS_NG == 1 || ngroups - gi >= FI_WORDS_NG) {
            fi_store_run(p, narrow, x, o, kind);
        } else {   /* the run's last groups, fewer than a batch: the whole batch computed, they kept */
            double tmp[FI_WORDS_NG * 32];
            narrow->stream = 0;   /* (tmp is on the stack) */
            fi_store_run(p, narrow, x, tmp, kind);
            memcpy(o, tmp, group_bytes * (size_t)(ngroups - gi));
        }
    }
}

/* uniform_ and normal_ into float32 get loops of their own: each loop is then compiled
 * (registers, code layout) for its math alone, which measured 3-4% faster on AVX2 and 7-9% on
 * AVX-512; truncated normals measured 3% slower that way than in the general loop (AVX2), so they
 * stay there. */
#define FI_GROUPS_OF_KIND(name, kind)                                                                       \
    static __attribute__((noinline)) void name(fi_narrow *n, uint64_t g0, int64_t ng, void *dst) {          \
        fi_groups_of_kind(n, g0, ng, dst, kind);                                                           \
    }
FI_GROUPS_OF_KIND(fi_groups_any, FI_KIND_ANY)
FI_GROUPS_OF_KIND(fi_groups_uniform_f32, FI_KIND_UNIFORM_F32)
FI_GROUPS_OF_KIND(fi_groups_normal_f32, FI_KIND_NORMAL_F32)
#undef FI_GROUPS_OF_KIND

/* stream: float32 values go past the caches (f_stream; dst is then 16-byte aligned), fenced
 * before returning.  FI_STREAM_SPLIT_UNIFORM_ONLY: where dst is not aligned to a whole vector, a
 * vector takes several stream stores and the shuffles between them, which only uniform_ (bound by
 * memory) gains from; the normals (bound by their math) then store plainly. */
void FI_GROUPS_FN(const fi_params *p, uint64_t g0, int64_t ngroups, void *dst, int stream) {
    fi_narrow narrow;
    stream = stream && p->dtype == FI_F32;
#ifdef FI_STREAM_SPLIT_UNIFORM_ONLY
    stream = stream && (((uintptr_t)dst & (sizeof(vf) - 1)) == 0 || p->dist == FI_UNIFORM);
#endif
    narrow_init(&narrow, p, stream);
    switch (narrow_kind(p)) {
    case FI_KIND_UNIFORM_F32: fi_groups_uniform_f32(&narrow, g0, ngroups, dst); break;
    case FI_KIND_NORMAL_F32: fi_groups_normal_f32(&narrow, g0, ngroups, dst); break;
    default: fi_groups_any(&narrow, g0, ngroups, dst);
    }
    if (stream) f_stream_fence();   /* stream stores are weakly ordered: done before we return */
}
#endif
