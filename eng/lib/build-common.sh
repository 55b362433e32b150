# Shared by the eng/ scripts (sourced, not run): errors, quiet steps, root and apt-get, and the ASP.NET base images
# are built on. The sourcing script sets `tool` (its name, for messages) first; `apt_hint` may add to the message
# shown where there is no apt-get.

die() {
    printf '%s: error: %s\n' "$tool" "$*" >&2
    exit 1
}

quietly() { # DESCRIPTION COMMAND...: runs COMMAND, showing its output only when it fails
    local what=$1 out rc=0
    shift
    out=$(mktemp)
    "$@" >"$out" 2>&1 </dev/null || rc=$?
    if ((rc != 0)); then
        tail -n 60 "$out" >&2
        rm -f "$out"
        die "$what failed (exit $rc)"
    fi
    rm -f "$out"
}

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "'$*' needs root, and there is no sudo"
    fi
}

apt_updated=
apt_install() { # PACKAGE...
    command -v apt-get >/dev/null 2>&1 ||
        die "this needs: $* - there is no apt-get here, so install them by hand${apt_hint:-}"
    if [[ -z $apt_updated ]]; then
        quietly "apt-get update" as_root apt-get update -q
        apt_updated=1
    fi
    printf '%s: installing %s (apt-get)\n' "$tool" "$*" >&2
    quietly "apt-get install $*" as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# The ASP.NET base: NVCF_ASPNET_BASE, else mcr.microsoft.com/dotnet/aspnet:10.0 if present, else
# nvcf-local/aspnet:10.0 (built by eng/setup.sh) if present, else the mcr image (docker build pulls it where a
# registry is reachable).
aspnet_base() {
    if [[ -n ${NVCF_ASPNET_BASE:-} ]]; then
        printf '%s\n' "$NVCF_ASPNET_BASE"
    elif docker image inspect mcr.microsoft.com/dotnet/aspnet:10.0 >/dev/null 2>&1; then
        printf '%s\n' mcr.microsoft.com/dotnet/aspnet:10.0
    elif docker image inspect nvcf-local/aspnet:10.0 >/dev/null 2>&1; then
        printf '%s\n' nvcf-local/aspnet:10.0
    else
        printf '%s\n' mcr.microsoft.com/dotnet/aspnet:10.0
    fi
}
