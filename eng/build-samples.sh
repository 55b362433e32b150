#!/usr/bin/env bash
# Builds the sample function images, nvcf-samples/<name>:latest, from samples/<name>/Dockerfile, and the test
# function images, nvcf-test/<name>:latest, from tests/images/<name>/Dockerfile (on busybox:1.36 if present, else
# nvcf-local/busybox:1.35, unless NVCF_BUSYBOX_BASE says otherwise).
# A sample with a *.csproj is published first (dotnet publish -c Release -o samples/<name>/bin/publish), and its
# Dockerfile copies that output. A sample with a build-local.sh (samples/cuda) is built by that script instead, from
# local files only. Dockerfiles that declare `ARG BASE` get the ASP.NET base found here:
# mcr.microsoft.com/dotnet/aspnet:10.0 if present, else nvcf-local/aspnet:10.0 (built by eng/setup.sh), unless
# NVCF_ASPNET_BASE says otherwise. Always rebuilds, so edits are picked up; Docker's cache keeps that cheap.
#
# Usage: eng/build-samples.sh [--quiet] [NAME|DIR...]   (default: every samples/*/ and tests/images/*/ Dockerfile)
#   --quiet   print only the names of the images built (one a line), nothing else unless something fails
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

quiet=0
names=()
for arg in "$@"; do
    case $arg in
    -q | --quiet) quiet=1 ;;
    -h | --help)
        sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "build-samples: unknown option $arg" >&2
        exit 2
        ;;
    *) names+=("$arg") ;;
    esac
done
if ((${#names[@]} == 0)); then
    for dockerfile in samples/*/Dockerfile tests/images/*/Dockerfile; do
        [[ -e $dockerfile ]] || continue
        names+=("$(dirname "$dockerfile")")
    done
fi

tool=build-samples
# shellcheck source=eng/lib/build-common.sh
source "$repo_root/eng/lib/build-common.sh"

base=$(aspnet_base)

busybox_base=${NVCF_BUSYBOX_BASE:-}
if [[ -z $busybox_base ]]; then
    if docker image inspect busybox:1.36 >/dev/null 2>&1; then
        busybox_base=busybox:1.36
    elif docker image inspect nvcf-local/busybox:1.35 >/dev/null 2>&1; then
        busybox_base=nvcf-local/busybox:1.35
    else
        busybox_base=busybox:1.36
    fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
for name in "${names[@]}"; do
    [[ $name == */* ]] || name=samples/$name
    dir=${name%/}
    case $dir in
    tests/images/*)
        image=nvcf-test/$(basename "$dir"):latest
        image_base=$busybox_base
        ;;
    *)
        image=nvcf-samples/$(basename "$dir"):latest
        image_base=$base
        ;;
    esac
    [[ -f $dir/Dockerfile ]] || die "no $dir/Dockerfile"
    started=$SECONDS

    if [[ -x $dir/build-local.sh ]]; then
        built=$(bash "$dir/build-local.sh" --quiet "$image") || die "$dir/build-local.sh failed"
        if ((quiet)); then
            echo "$built"
        else
            echo "build-samples: $built built in $((SECONDS - started)) s (by $dir/build-local.sh)"
        fi
        continue
    fi

    projects=("$dir"/*.csproj)
    if [[ -e ${projects[0]} ]]; then
        rm -rf "$dir/bin/publish"
        quietly "dotnet publish $dir" dotnet publish "${projects[0]}" -c Release -o "$dir/bin/publish" --nologo -v quiet
    fi

    build_args=()
    if grep -Eq '^[[:space:]]*ARG[[:space:]]+BASE([=[:space:]]|$)' "$dir/Dockerfile"; then
        build_args+=(--build-arg "BASE=$image_base")
    fi
    previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    quietly "docker build $dir" docker build ${build_args[@]+"${build_args[@]}"} -t "$image" "$dir"
    if [[ -n $previous && $previous != "$(docker image inspect --format '{{.Id}}' "$image")" ]]; then
        docker image rm "$previous" >/dev/null 2>&1 || true # the replaced build, unless a container still uses it
    fi

    if ((quiet)); then
        echo "$image"
    else
        echo "build-samples: $image built in $((SECONDS - started)) s${build_args[*]:+ (${build_args[1]})}"
    fi
done
