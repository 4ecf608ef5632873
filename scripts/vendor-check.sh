#!/bin/sh
# Checks the vendored browser assets against static/vendor/README.md: every
# file listed there must exist with the SHA-256 written beside it, and every
# file in a vendored folder must be listed (nothing edited, added or lost
# since it was copied from its npm tarball). No network: the README is the
# record of what the tarballs held.
set -eu
cd "$(dirname "$0")/../static/vendor"
listed=$(mktemp)
trap 'rm -f "$listed"' EXIT
# Table rows of the form: | `path` | `sha256` |
sed -n 's/^| `\([^`]*\)` | `\([0-9a-f]\{64\}\)` |$/\2  \1/p' README.md >"$listed"
if [ ! -s "$listed" ]; then
    echo "vendor-check: no checksums found in static/vendor/README.md" >&2
    exit 1
fi
status=0
sha256sum --check --quiet "$listed" || status=1
find . -type f ! -name README.md | sed 's|^\./||' | sort | while read -r file; do
    if ! grep -q "  $file\$" "$listed"; then
        echo "vendor-check: $file is not listed in static/vendor/README.md" >&2
        exit 1
    fi
done || status=1
if [ "$status" -eq 0 ]; then
    echo "vendor-check: $(wc -l <"$listed") files match static/vendor/README.md"
fi
exit "$status"
