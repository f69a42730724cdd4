/* OpenMP shim: a build without OpenMP still compiles and runs serially. */
#ifndef FI_OPENMP_H
#define FI_OPENMP_H
#ifdef _OPENMP
#include <omp.h>
static inline int fi_openmp_enabled(void) { return 1; }
static inline int fi_omp_max_threads(void) { return omp_get_max_threads(); }
#else
static inline int fi_openmp_enabled(void) { return 0; }
static inline int fi_omp_max_threads(void) { return 1; }
#endif
#endif
