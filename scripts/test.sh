#!/usr/bin/env bash
# The whole test suite: install dependencies, build with the dev preset (-Werror), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev -j2 --timeout 600
