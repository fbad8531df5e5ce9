/*
 * Code paths of the sampler kernels (fgr_sterf.c, fgr_secular.c).
 *
 * The x86 vector loops exist for AVX-512 and for AVX2 on x86-64 Linux
 * builds with GCC or Clang; elsewhere, or with -DFGR_NO_MULTIVERSIONING,
 * only the generic path (portable GNU C vectors, where the compiler has
 * them) and the scalar reference are compiled.  Every
 * path performs the same IEEE operations in the same order per matrix or
 * root, so all give the same bits; the choice is only about speed, and the
 * tests force each path the CPU can run to compare them.
 */
#ifndef FGR_CPU_H
#define FGR_CPU_H

/* a C library header first: it defines __GLIBC__ on glibc */
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) \
    && !defined(FGR_NO_MULTIVERSIONING)
#define FGR_HAVE_X86_PATHS 1
#endif

enum {
    FGR_PATH_AUTO = 0,    /* the fastest path this CPU can run */
    FGR_PATH_SCALAR = 1,  /* the scalar reference (interleaved scalar lanes for dsterf) */
    FGR_PATH_AVX2 = 2,    /* 256-bit vector lanes; needs AVX2 (no FMA is used) */
    FGR_PATH_AVX512 = 3,  /* 512-bit vector lanes; needs AVX-512F */
    FGR_PATH_GENERIC = 4  /* portable vector code only (GNU C vector extensions:
                             dsterf lanes two per vector, the secular far field's
                             gap moments); what CPUs without a dedicated path
                             (e.g. ARM) run */
};

/* 1 if this build and this CPU can run `path` (AUTO, SCALAR, GENERIC: always). */
int fgr_path_supported(int path);

/* The path a request runs: AUTO becomes the fastest supported path; a path
 * this CPU cannot run (or an unknown code) becomes SCALAR, so a request can
 * never execute an unsupported instruction. */
int fgr_path_resolve(int path);

/* Make FGR_PATH_AUTO resolve to `path` (FGR_PATH_AUTO: the fastest again),
 * so that tests can run the whole sampler on each path.  Not synchronised:
 * set it only while no sampler runs. */
void fgr_path_set_auto(int path);

#ifdef __cplusplus
}
#endif

#endif /* FGR_CPU_H */
