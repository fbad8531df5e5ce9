/* Which vector paths this build and CPU can run (see fgr_cpu.h). */
#include "fgr_cpu.h"

int fgr_path_supported(int path)
{
    switch (path) {
    case FGR_PATH_AUTO:
    case FGR_PATH_SCALAR:
    case FGR_PATH_GENERIC:
        return 1;
#ifdef FGR_HAVE_X86_PATHS
    case FGR_PATH_AVX2:
        return __builtin_cpu_supports("avx2");
    case FGR_PATH_AVX512:
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

static int auto_path = FGR_PATH_AUTO;

void fgr_path_set_auto(int path)
{
    auto_path = path;
}

int fgr_path_resolve(int path)
{
    if (path == FGR_PATH_AUTO && auto_path != FGR_PATH_AUTO)
        path = auto_path;
    if (path == FGR_PATH_AUTO) {
        if (fgr_path_supported(FGR_PATH_AVX512))
            return FGR_PATH_AVX512;
        if (fgr_path_supported(FGR_PATH_AVX2))
            return FGR_PATH_AVX2;
        return FGR_PATH_GENERIC;
    }
    return fgr_path_supported(path) ? path : FGR_PATH_SCALAR;
}
