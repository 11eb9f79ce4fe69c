#!/usr/bin/env bash
# make rootfs: the image's runtime filesystem in a directory, built from a binary of this machine (or of
# the Dockerfile's build stage):
#   usr/local/bin/manual-gate      the binary, stripped
#   <each library ldd lists>       its shared-library closure at the paths the loader looks them up, the
#                                  dynamic loader included
#   etc/ssl/certs/ca-certificates.crt   the CA bundle libcurl trusts by default
# and nothing else: no shell, no package manager, no /etc/passwd (the Deployment runs as a numeric uid).
#
#   tests/rootfs.sh BINARY DIR
set -euo pipefail
bin=$1
dir=$2
[ -x "$bin" ] || { echo "rootfs.sh: $bin is not an executable (make first)" >&2; exit 2; }
command -v ldd >/dev/null && command -v strip >/dev/null || { echo "rootfs.sh: needs ldd and strip" >&2; exit 2; }
rm -rf "$dir"
mkdir -p "$dir/usr/local/bin" "$dir/etc/ssl/certs"
strip --strip-all -o "$dir/usr/local/bin/manual-gate" "$bin"
# "libx.so.1 => /lib/.../libx.so.1 (0x...)" and the loader's "/lib64/ld-linux-x86-64.so.2 (0x...)".
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
[ -n "$libs" ] || { echo "rootfs.sh: ldd lists no libraries for $bin" >&2; exit 1; }
for lib in $libs; do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$lib" "$dir$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
echo "rootfs: $dir ($(echo "$libs" | wc -l) libraries, $(du -sh "$dir" | cut -f1))"
