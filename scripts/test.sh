#!/usr/bin/env bash
# The whole test suite: install dependencies, build with the dev preset (-Werror), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# git does not keep file modes, and certd refuses private keys others may read.
find keys-example -name '*.key' -exec chmod 600 {} +
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev -j2 --timeout 600
