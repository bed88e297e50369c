# Shared settings for the scripts: where caches and build outputs live.
# Caches are kept outside the work tree so a fresh clone reuses a machine's kernel build.
: "${REPTAR_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/reptar}"
export REPTAR_CACHE
