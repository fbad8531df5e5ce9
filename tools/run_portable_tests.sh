#!/usr/bin/env bash
# Build fgrkern without any x86 vector path (-DFGR_NO_MULTIVERSIONING: the
# code a CPU without a dedicated path compiles, e.g. ARM: only the portable
# vector code and the scalar reference) into a throw-away venv and run pytest
# against it.  On x86-64 CI this is the only way those fallbacks are executed.
#
#   tools/run_portable_tests.sh [pytest args...]     (default: the whole default suite)
set -euo pipefail
cd "$(dirname "$0")/.."

work=${FGRKERN_PORTABLE_DIR:-$(mktemp -d)}
python3 -m venv "$work/venv"
export PATH="$work/venv/bin:$PATH"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet \
  "-Csetup-args=-Dc_args=-DFGR_NO_MULTIVERSIONING" \
  -Cbuild-dir="$work/build" \
  ".[test]"
# the build must really lack the x86 paths
(cd "$work" && python -c "from fgrkern import _sampler as s; p = s.paths(); assert p == ['scalar', 'generic'], p; print('paths:', p)")
if [[ $# -eq 0 ]]; then set -- tests; fi
pytest -p no:cacheprovider "$@"
