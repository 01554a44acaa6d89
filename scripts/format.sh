#!/usr/bin/env bash
# Rewrites tracked C++ sources in place to follow .clang-format; the check is
# scripts/check_format.sh (same file set: every tracked .h/.cpp except tests/fixtures/).
#   scripts/format.sh            all of them
#   scripts/format.sh FILE...    only these
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-14}
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- '*.h' '*.cpp' ':!:tests/fixtures/*')
fi
[ ${#files[@]} -eq 0 ] || "$CLANG_FORMAT" --style=file -i "${files[@]}"
