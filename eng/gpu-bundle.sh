#!/usr/bin/env bash
# Packs what a bare GPU machine lacks for eng/gpu-proof.sh (no network, no Docker engine, no .NET there) into
# artifacts/gpu-proof/, one archive per part, each under 60 MiB so they can travel separately:
#   engine.tar.xz    Debian's Docker engine: engine/bin/{dockerd,containerd,containerd-shim-runc-v2,runc,
#                    docker-init,docker-proxy,docker} and engine/lib/libdevmapper.so.1.02.1 (Ubuntu lacks it)
#   emulator.tar.xz  emulator/: a self-contained linux-x64 publish of Emulator/ (runs without an installed .NET)
#   dotnet.tar.xz    only when no runtime pack can be restored: this machine's .NET runtimes (dotnet/), and then
#                    emulator/ is a framework-dependent publish (Nvcf.Emulator.dll) that runs on them
#   SHA256SUMS       checksums of the above
# Runs on a Debian machine with apt-get and the .NET SDK (a developer machine or CI's).
#
# Usage: eng/gpu-bundle.sh [engine|emulator]...   (default: both)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo_root/artifacts/gpu-proof
max_bytes=$((60 * 1024 * 1024))
rid=linux-x64

say() { printf 'gpu-bundle: %s\n' "$*"; }
die() {
    printf 'gpu-bundle: error: %s\n' "$*" >&2
    exit 1
}

parts=("$@")
((${#parts[@]})) || parts=(engine emulator)
for part in "${parts[@]}"; do
    case $part in
    engine | emulator) ;;
    -h | --help)
        sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *) die "unknown part '$part' (engine or emulator)" ;;
    esac
done

work=$(mktemp -d /tmp/nvcf-gpu-bundle.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# Packs DIR (relative to PARENT) into artifacts/gpu-proof/NAME.tar.xz and checks its size.
pack() { # NAME PARENT DIR
    local archive=$out/$1.tar.xz size
    say "compressing $1.tar.xz ($(du -sh "$2/$3" | cut -f1) unpacked; xz takes minutes on a small machine)"
    tar --numeric-owner --owner=0 --group=0 -C "$2" -cf - "$3" | xz -T0 -6 >"$archive.tmp"
    mv "$archive.tmp" "$archive"
    size=$(stat -c %s "$archive")
    ((size < max_bytes)) || die "$1.tar.xz is $(mib "$size"), over the 60 MiB limit"
    say "$1.tar.xz: $(mib "$size")"
}

# ------------------------------------------------------------------------------------------------ the engine

apt_download() { # DIR PACKAGE...
    local dir=$1
    shift
    chmod 755 "$dir"
    if id _apt >/dev/null 2>&1 && ((EUID == 0)); then chown _apt "$dir"; fi # apt's download sandbox
    (cd "$dir" && apt-get download -q "$@" >"$work/apt.log" 2>&1) && return 0
    say "apt-get download failed; running apt-get update and trying again"
    apt-get update -q >>"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; die "apt-get update failed"; }
    (cd "$dir" && apt-get download -q "$@" >>"$work/apt.log" 2>&1) ||
        { tail -n 20 "$work/apt.log" >&2; die "apt-get download $* failed"; }
}

bundle_engine() {
    command -v apt-get >/dev/null 2>&1 || die "the engine bundle needs apt-get (Debian's docker.io packages)"
    local debs=$work/debs x=$work/x engine=$work/engine deb name path
    mkdir -p "$debs" "$x" "$engine/bin" "$engine/lib"
    # docker-init is Debian's link to tini-static (package tini); dockerd needs libdevmapper.
    say "downloading docker.io containerd runc tini libdevmapper1.02.1 (apt-get download)"
    apt_download "$debs" docker.io containerd runc tini libdevmapper1.02.1
    for deb in "$debs"/*.deb; do
        dpkg -x "$deb" "$x"
        dpkg-deb -f "$deb" Package Version | sed 's/^[^:]*: //' | paste -sd' ' >>"$engine/VERSIONS"
    done
    for name in dockerd containerd containerd-shim-runc-v2 runc docker-init docker-proxy docker; do
        path=$(find "$x/usr/bin" "$x/usr/sbin" -name "$name" \( -type f -o -type l \) | head -n 1)
        [[ -n $path ]] || die "$name is not in the downloaded packages"
        cp -L "$path" "$engine/bin/$name"
    done
    path=$(find "$x" -name libdevmapper.so.1.02.1 | head -n 1)
    [[ -n $path ]] || die "libdevmapper.so.1.02.1 is not in libdevmapper1.02.1"
    cp -L "$path" "$engine/lib/"
    chmod 755 "$engine"/bin/*
    say "engine files:"
    (cd "$engine" && find bin lib -type f -printf '%p %s\n' | sort | while read -r f s; do printf '  %-32s %s\n' "$f" "$(mib "$s")"; done)
    sed 's/^/  /' "$engine/VERSIONS"
    pack engine "$work" engine
}

# ---------------------------------------------------------------------------------------------- the emulator

dotnet_root() {
    local dir
    dir=$(dotnet --list-runtimes | sed -n 's/^Microsoft\.NETCore\.App [^ ]* \[\(.*\)\/shared\/Microsoft\.NETCore\.App\]$/\1/p' | head -n 1)
    [[ -n $dir && -x $dir/dotnet ]] || die "can't find the .NET install behind 'dotnet --list-runtimes'"
    printf '%s\n' "$dir"
}

newest_version_dir() { find "$1" -mindepth 1 -maxdepth 1 -type d -name "$2*" -printf '%f\n' | sort -V | tail -n 1; }

# Build output goes to a temporary artifacts folder: Emulator/bin and obj of the work tree are left as they are.
publish() { # OUTPUT EXTRA_ARGS...
    local output=$1
    shift
    rm -rf "$output"
    dotnet publish "$repo_root/Emulator" -c Release --artifacts-path "$work/build" -o "$output" \
        -p:DebugType=none "$@" >"$work/publish.log" 2>&1
}

bundle_emulator() {
    command -v dotnet >/dev/null 2>&1 || die "the emulator bundle needs the .NET SDK (dotnet)"
    local app=$work/emulator root netcore aspnetcore
    rm -f "$out/dotnet.tar.xz"
    say "publishing Emulator/ self-contained for $rid (dotnet publish, a minute or so)"
    if publish "$app" -r "$rid" --self-contained; then
        [[ -x $app/Nvcf.Emulator && -f $app/libcoreclr.so ]] || die "the publish has no self-contained Nvcf.Emulator"
        say "self-contained publish: $(du -sh "$app" | cut -f1)"
    else
        tail -n 20 "$work/publish.log" >&2
        grep -q 'Microsoft\.\(NETCore\|AspNetCore\)\.App\.\(Runtime\|Host\)\.' "$work/publish.log" ||
            die "dotnet publish failed (log above)"
        # No runtime pack for this SDK: a framework-dependent publish plus this machine's runtimes.
        say "no runtime pack for $rid: publishing framework-dependent and bundling this machine's .NET runtimes"
        publish "$app" --no-self-contained -p:UseAppHost=false || { tail -n 30 "$work/publish.log" >&2; die "dotnet publish failed"; }
        root=$(dotnet_root)
        netcore=$(newest_version_dir "$root/shared/Microsoft.NETCore.App" 10.)
        aspnetcore=$(newest_version_dir "$root/shared/Microsoft.AspNetCore.App" 10.)
        [[ -n $netcore && -n $aspnetcore ]] || die "no .NET 10 / ASP.NET Core 10 runtimes under $root"
        mkdir -p "$work/dotnet/shared/Microsoft.NETCore.App" "$work/dotnet/shared/Microsoft.AspNetCore.App"
        cp -a "$root/dotnet" "$root/host" "$work/dotnet/"
        cp -a "$root/shared/Microsoft.NETCore.App/$netcore" "$work/dotnet/shared/Microsoft.NETCore.App/"
        cp -a "$root/shared/Microsoft.AspNetCore.App/$aspnetcore" "$work/dotnet/shared/Microsoft.AspNetCore.App/"
        pack dotnet "$work" dotnet
    fi
    pack emulator "$work" emulator
}

# ------------------------------------------------------------------------------------------------------ main

for part in "${parts[@]}"; do
    "bundle_$part"
done

(cd "$out" && rm -f SHA256SUMS && sha256sum ./*.tar.xz | sed 's| \./| |' >SHA256SUMS)
say "artifacts in ${out#"$repo_root"/}:"
(cd "$out" && for f in *; do printf '  %-18s %10s  (%s bytes)\n' "$f" "$(mib "$(stat -c %s "$f")")" "$(stat -c %s "$f")"; done)
cat <<EOF
gpu-bundle: ship them to the GPU machine (a checkout of this repository there), e.g.
  ssh gpu-host mkdir -p repo/artifacts/gpu-proof
  scp artifacts/gpu-proof/* gpu-host:repo/artifacts/gpu-proof/
then, there, as root: bash eng/gpu-proof.sh
EOF
