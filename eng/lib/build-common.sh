# Shared by eng/build-samples.sh and eng/build-emulator-image.sh (sourced, not run): errors, quiet steps, and the
# ASP.NET base images are built on. The sourcing script sets `tool` (its name, for messages) first.

die() {
    printf '%s: error: %s\n' "$tool" "$*" >&2
    exit 1
}

quietly() { # DESCRIPTION COMMAND...: runs COMMAND, showing its output only when it fails
    local what=$1 out rc=0
    shift
    out=$(mktemp)
    "$@" >"$out" 2>&1 || rc=$?
    if ((rc != 0)); then
        tail -n 60 "$out" >&2
        rm -f "$out"
        die "$what failed (exit $rc)"
    fi
    rm -f "$out"
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
