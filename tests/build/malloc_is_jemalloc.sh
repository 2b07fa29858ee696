#!/bin/sh
# malloc_is_jemalloc.sh BINARY: passes when the dynamic linker binds libstdc++'s and libcrypto's
# malloc (operator new, OpenSSL's allocations) to jemalloc in BINARY, so that not only the
# program's own calls but every library's use it.
set -u
out=$(LD_BIND_NOW=1 LD_DEBUG=bindings "$1" --help 2>&1)
for lib in 'libstdc++.so' 'libcrypto.so'; do
  if ! printf '%s\n' "$out" | grep -q "binding file [^ ]*$lib[^ ]* \[0\] to [^ ]*libjemalloc[^ ]* \[0\]: normal symbol .malloc'"; then
    echo "malloc in $lib is not bound to jemalloc in $1:" >&2
    printf '%s\n' "$out" | grep "symbol .malloc'" >&2
    exit 1
  fi
done
