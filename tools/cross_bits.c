/*
 * The C kernels' bits on this machine, for comparison across architectures
 * (tools/run_cross_arch_check.sh builds this for x86-64 and for aarch64 and
 * runs the latter under QEMU).
 *
 * Deterministic inputs (a fixed xorshift generator; only IEEE operations,
 * sqrt included, which every architecture rounds alike) go through every code path this build and CPU can run:
 *   - dsterf lanes (fgr_sterf_*): 37 tridiagonal matrices of each size
 *     n = 2..10, 30, 90, 270, run in slices of a few steps (lanes resumed
 *     mid-sweep), on each path and with the paths taken in turn per slice;
 *   - the one-coupling arrowhead solver and the multi-coupling solver
 *     (far-field path: L = 300 >= FGR_SEC_SCALED_MIN_L);
 *   - the survival-probability kernel on a log grid and on a uniform grid
 *     (phases within the fast sin/cos range: libm is not involved); this
 *     runs the clone the CPU dispatches only (tests/test_kernel_isa.py
 *     compares the x86 clones with each other).
 * Each item's outputs must be bitwise equal on every path (exit status 1
 * otherwise); one FNV-1a hash per item is printed, and the script compares
 * those lines between architectures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "fgr_cpu.h"
#include "fgr_kernel.h"
#include "fgr_secular.h"
#include "fgr_sterf.h"

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static double uniform(void) /* [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1p-53;
}

static unsigned long long fnv(unsigned long long h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; ++i)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static const int all_paths[] = {FGR_PATH_SCALAR, FGR_PATH_GENERIC, FGR_PATH_AVX2, FGR_PATH_AVX512};
static const char *path_names[] = {"auto", "scalar", "avx2", "avx512", "generic"};
static int failures = 0;

/* hash[k] per path; all must agree */
static void report(const char *item, const unsigned long long *hash, const int *ran, int n)
{
    unsigned long long ref = 0;
    int have = 0;
    for (int k = 0; k < n; ++k) {
        if (!ran[k])
            continue;
        if (!have) {
            ref = hash[k];
            have = 1;
        } else if (hash[k] != ref) {
            fprintf(stderr, "%s: path %s differs from the first path\n", item,
                    k < 4 ? path_names[all_paths[k]] : "cycle");
            ++failures;
        }
    }
    printf("%s %016llx\n", item, ref);
}

static void check_sterf(void)
{
    enum { ROWS = 37, N = 300 };
    double *d0 = malloc(sizeof(double) * ROWS * N), *e0 = malloc(sizeof(double) * ROWS * N);
    double *d = malloc(sizeof(double) * ROWS * N), *e = malloc(sizeof(double) * ROWS * N);
    int status[ROWS];
    unsigned long long hash[5];
    int ran[5];
    for (int n = 2; n <= N; n = n < 10 ? n + 1 : n * 3) {
        for (int i = 0; i < ROWS * N; ++i) {
            d0[i] = 2.0 * uniform() - 1.0;
            e0[i] = sqrt(uniform()) + (i % 7 == 3 ? 0.0 : 1e-3);
        }
        for (int r = 0; r < ROWS; r += 5) /* a split and a graded row */
            e0[r * N + n / 2] = 0.0;
        for (int i = 0; i < n; ++i)
            d0[N + i] = 10.0 * i;
        /* k < 4: one path; k = 4: the supported paths in turn, one per slice */
        for (int k = 0; k < 5; ++k) {
            ran[k] = k == 4 || fgr_path_supported(all_paths[k]);
            if (!ran[k])
                continue;
            memcpy(d, d0, sizeof(double) * ROWS * N);
            memcpy(e, e0, sizeof(double) * ROWS * N);
            fgr_sterf_batch *b = malloc(fgr_sterf_batch_size());
            fgr_sterf_begin(b, ROWS, n, d, e, N, status);
            int slice = 0, path;
            do {
                path = all_paths[k < 4 ? k : slice++ % 4];
                if (!fgr_path_supported(path))
                    path = FGR_PATH_SCALAR;
            } while (!fgr_sterf_run(b, 7 + n % 11, path));
            free(b);
            hash[k] = 1469598103934665603ULL;
            for (int r = 0; r < ROWS; ++r) {
                hash[k] = fnv(hash[k], &status[r], sizeof status[r]);
                if (status[r] == 0)
                    hash[k] = fnv(hash[k], d + r * N, sizeof(double) * n);
            }
        }
        char item[64];
        snprintf(item, sizeof item, "sterf_n%d", n);
        report(item, hash, ran, 5);
    }
    free(d0);
    free(e0);
    free(d);
    free(e);
}

static void check_secular(void)
{
    enum { L = 300, G = 5 };
    double d[L], u2[L], z2[L], c[G], e[G * (L + 1)], w[G * (L + 1)];
    double *work = malloc(sizeof(double) * FGR_SEC_SCALED_WORK(L, G));
    ptrdiff_t *iwork = malloc(sizeof(ptrdiff_t) * FGR_SEC_IWORK(L));
    double acc = 0.0;
    for (int i = 0; i < L; ++i) {
        acc += 0.5 + uniform();
        d[i] = acc / L - 0.5 * (L + 1.0) / L;
        u2[i] = 0.01 + uniform();
    }
    for (int g = 0; g < G; ++g)
        c[g] = 0.02 / L * (1 << (2 * g));
    unsigned long long hash[4];
    int ran[4];
    for (int k = 0; k < 4; ++k) {
        ran[k] = fgr_path_supported(all_paths[k]);
        if (!ran[k])
            continue;
        for (int i = 0; i < L; ++i)
            z2[i] = c[2] * u2[i];
        int rc = fgr_arrowhead_solve_path(L, d, z2, 0.01, e, w, NULL, NULL, work, iwork, all_paths[k]);
        hash[k] = fnv(fnv(fnv(1469598103934665603ULL, &rc, sizeof rc), e, sizeof(double) * (L + 1)), w,
                      sizeof(double) * (L + 1));
    }
    report("arrowhead_one", hash, ran, 4);
    for (int k = 0; k < 4; ++k) {
        if (!ran[k])
            continue;
        int rc = fgr_arrowhead_solve_scaled(L, d, u2, G, c, 0.01, e, w, L + 1, FGR_SEC_SCALED_MIN_L, work,
                                            iwork, all_paths[k]);
        hash[k] = fnv(fnv(fnv(1469598103934665603ULL, &rc, sizeof rc), e, sizeof e), w, sizeof w);
    }
    report("arrowhead_scaled", hash, ran, 4);
    free(work);
    free(iwork);
}

static void check_kernel(void)
{
    enum { M = 250, T = 241 };
    double e[M], w[M], t[T], out[T], sum = 0.0;
    for (int a = 0; a < M; ++a) {
        e[a] = 4.0 * uniform() - 2.0;
        w[a] = uniform();
        sum += w[a];
    }
    for (int a = 0; a < M; ++a)
        w[a] /= sum;
    double *work = malloc(sizeof(double) * (fgr_sp_general_work(M) + fgr_sp_uniform_work(M, T)));
    /* log grid 4 .. 4e4: the kernel computes the same bits on every ISA
     * (function multiversioning picks one clone per CPU) */
    t[0] = 4.0;
    for (int k = 1; k < T; ++k)
        t[k] = t[k - 1] * 1.0391; /* 1.0391^240 ~ 1e4 */
    fgr_sp_general(e, w, M, t, T, out, work);
    printf("kernel_log %016llx\n", fnv(1469598103934665603ULL, out, sizeof out));
    for (int k = 0; k < T; ++k)
        t[k] = 0.5 + 1.25 * k;
    fgr_sp_uniform(e, w, M, t, T, 1.25, out, work);
    printf("kernel_uniform %016llx\n", fnv(1469598103934665603ULL, out, sizeof out));
    free(work);
}

int main(void)
{
    check_sterf();
    check_secular();
    check_kernel();
    printf("paths:");
    for (int k = 0; k < 4; ++k)
        if (fgr_path_supported(all_paths[k]))
            printf(" %s", path_names[all_paths[k]]);
    printf("\n");
    return failures != 0;
}
