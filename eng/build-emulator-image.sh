#!/usr/bin/env bash
# Builds the emulator's image, nvcf-emulator:local, from Emulator/Dockerfile: publishes the emulator
# (dotnet publish -c Release -o Emulator/bin/publish), then builds the image on the ASP.NET base found here:
# mcr.microsoft.com/dotnet/aspnet:10.0 if present, else nvcf-local/aspnet:10.0 (built by eng/setup.sh), unless
# NVCF_ASPNET_BASE says otherwise. Always rebuilds, so edits are picked up; Docker's cache keeps that cheap.
#
# Usage: eng/build-emulator-image.sh [--quiet] [TAG]   (default tag: nvcf-emulator:local)
#   --quiet   print only the name of the image built, nothing else unless something fails
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

quiet=0
image=nvcf-emulator:local
for arg in "$@"; do
    case $arg in
    -q | --quiet) quiet=1 ;;
    -h | --help)
        sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "build-emulator-image: unknown option $arg" >&2
        exit 2
        ;;
    *) image=$arg ;;
    esac
done

tool=build-emulator-image
# shellcheck source=eng/lib/build-common.sh
source "$repo_root/eng/lib/build-common.sh"

base=$(aspnet_base)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
started=$SECONDS
rm -rf Emulator/bin/publish
quietly "dotnet publish Emulator" dotnet publish Emulator/Emulator.csproj -c Release -o Emulator/bin/publish --nologo -v quiet

previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
quietly "docker build Emulator" docker build --build-arg "BASE=$base" -t "$image" Emulator
if [[ -n $previous && $previous != "$(docker image inspect --format '{{.Id}}' "$image")" ]]; then
    docker image rm "$previous" >/dev/null 2>&1 || true # the replaced build, unless a container still uses it
fi

if ((quiet)); then
    echo "$image"
else
    echo "build-emulator-image: $image built in $((SECONDS - started)) s (on $base)"
fi
