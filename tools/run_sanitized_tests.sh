#!/usr/bin/env bash
# Build fgrkern with AddressSanitizer + UndefinedBehaviorSanitizer (C and
# Cython code alike) into a throw-away venv and run pytest against it.
#
#   tools/run_sanitized_tests.sh [pytest args...]     (default: the whole default suite)
#
# Any ASan report or UBSan finding aborts the test process, so a green run
# means no finding in the code paths the tests exercised.  Leak detection is
# off: CPython itself "leaks" interned objects at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

work=${FGRKERN_SAN_DIR:-$(mktemp -d)}
python3 -m venv "$work/venv"
export PATH="$work/venv/bin:$PATH"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet \
  -Csetup-args=-Db_sanitize=address,undefined \
  -Csetup-args=-Db_lundef=false \
  -Csetup-args=-Dbuildtype=debugoptimized \
  "-Csetup-args=-Dc_args=-fno-sanitize-recover=all -fno-omit-frame-pointer" \
  -Cbuild-dir="$work/build" \
  ".[test]"

libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
export LD_PRELOAD="$libasan:$libubsan"
# allocator_may_return_null: an impossible allocation fails as in a normal build
# (numpy raises MemoryError) instead of aborting the whole run.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_init_order=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export FGRKERN_SANITIZED=1
if [[ $# -eq 0 ]]; then set -- tests; fi
pytest -p no:cacheprovider "$@"
