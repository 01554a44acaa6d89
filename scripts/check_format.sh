#!/usr/bin/env bash
# Checks that every tracked C++ source follows .clang-format (Google based, 100 columns) and
# lists the files that do not; exits non-zero if any. scripts/format.sh rewrites them.
#   scripts/check_format.sh            all tracked .h/.cpp files
#   scripts/check_format.sh FILE...    only these
# tests/fixtures/ is left alone: the symbolizer tests expect its functions on fixed source lines
# and its hand-written inline assembly in its shape.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "check_format: $CLANG_FORMAT not found (scripts/setup.sh installs clang-format-14)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- '*.h' '*.cpp' ':!:tests/fixtures/*')
fi
# One clang-format process for all files (fast); its diagnostics name each offending line.
if out=$("$CLANG_FORMAT" --style=file --dry-run -Werror "${files[@]}" 2>&1); then
  echo "check_format: ${#files[@]} files checked, all formatted"
  exit 0
fi
mapfile -t bad < <(grep -oE '^[^:]+:[0-9]+:[0-9]+: error' <<<"$out" | cut -d: -f1 | uniq)
if [ ${#bad[@]} -eq 0 ]; then echo "$out" >&2; exit 2; fi  # clang-format itself failed
echo "check_format: ${#bad[@]} of ${#files[@]} files are not formatted (scripts/format.sh fixes them):" >&2
printf '  %s\n' "${bad[@]}" >&2
exit 1
