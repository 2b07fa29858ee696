#!/usr/bin/env bash
# Fails when a tracked source file (C++, CMake, Python, shell) under the code folders is over
# LIMIT lines, naming each: a file should be readable in one sitting, and one that outgrows
# that usually holds more than one job. ctest runs it (label unit).
#   tests/build/file_lengths.sh [REPO_ROOT] [LIMIT]
set -euo pipefail
root=${1:-"$(dirname "$0")/../.."}
limit=${2:-600}
cd "$root"
# A source tarball has no git: nothing to list, so the check is skipped (ctest: exit 77).
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || exit 77
over=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue  # deleted in the working tree, not yet committed
  case "$f" in
    *.cc | *.h | *.cpp | *.hpp | *.c | *.py | *.sh | *.cmake | *.cmake.in | */CMakeLists.txt | CMakeLists.txt) ;;
    # Extensionless scripts (scripts/build, bench/run): by their interpreter line.
    */*.* | *.*) continue ;;
    *) head -n 1 "$f" | grep -Eq '^#!.*(sh|bash|python3?)([[:space:]]|$)' || continue ;;
  esac
  n=$(wc -l <"$f")
  if [ "$n" -gt "$limit" ]; then
    echo "$f: $n lines, over $limit: split it by responsibility"
    over=1
  fi
done < <(git ls-files -z -- broker ca policies clients bench scripts tests)
exit "$over"
