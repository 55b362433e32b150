#!/usr/bin/env bash
# Benchmarks invocation (benchmarks/Invocation/README.md). Builds the emulator and the harness in Release, then runs
# the harness, which starts the emulator on a free port, deploys one echo function, measures, and cleans up.
#
# Two load generators (--client):
#   wrk      the default: wrk against the container's own address, its published port, pexec and HTTP invocation.
#            Installs wrk (apt-get) if it is missing, and builds the function it measures, a native echo server
#            (benchmarks/native-echo/echo.c, gcc -static -O2, FROM scratch) as nvcf-bench/native-echo:<hash of echo.c>
#            unless that image is there already.
#   dotnet   the harness's own .NET client against the published port and pexec of the echo sample
#            (nvcf-samples/echo:latest; eng/setup.sh is run first if that image is missing). So is --pending.
#
# Usage: eng/bench.sh [--client wrk|dotnet] [--smoke] [harness options...]   e.g. eng/bench.sh --rounds 8
#   --smoke   one 1 s round per target and test, no warm-up, no goal judged: checks that the harness still works
#   --profile after the rounds, where the emulator's CPU goes (perf; installed with apt-get if missing)
#   NVCF_BENCH_NO_BUILD=1   don't build the emulator and the harness (use the Release builds already there)
#   eng/bench.sh --help lists the harness's options.
# Exit status: the harness's: 0 measured (goals not met are reported, not failures), 1 failed (setup, or any answer
# other than a 200 with the body).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

harness=benchmarks/Invocation/bin/Release/net10.0/Invocation.Benchmarks.dll
native_source=benchmarks/native-echo/echo.c

help=0
profile=0
client=wrk
image_given=0
expect_client=0
for arg in "$@"; do
    if ((expect_client)); then
        client=$arg
        expect_client=0
        continue
    fi
    case $arg in
    -h | --help) help=1 ;;
    --client) expect_client=1 ;;
    --client=*) client=${arg#--client=} ;;
    --image | --image=*) image_given=1 ;;
    --pending | --pending=*) client=dotnet ;; # the pending mode uses the echo sample's X-Echo-Delay-Ms
    --profile) profile=1 ;;
    esac
done
case $client in
wrk | dotnet) ;;
*)
    echo "bench: --client takes wrk or dotnet, not '$client'" >&2
    exit 2
    ;;
esac

tool=bench
apt_hint=" (or use --client dotnet)"
# shellcheck source=eng/lib/build-common.sh
source "$repo_root/eng/lib/build-common.sh"

# The native echo image: built when no image of this echo.c (its hash is the tag) is there yet.
native_echo_image() {
    local image work
    image=nvcf-bench/native-echo:$(sha256sum "$native_source" | cut -c1-12)
    if ! docker image inspect "$image" >/dev/null 2>&1; then
        command -v gcc >/dev/null 2>&1 || apt_install gcc libc6-dev
        echo "bench: building $image (gcc -static -O2 $native_source, FROM scratch)" >&2
        work=$(mktemp -d "${TMPDIR:-/tmp}/nvcf-native-echo.XXXXXX")
        cp benchmarks/native-echo/Dockerfile "$work/"
        if ! gcc -static -O2 -pthread -Wall -Wextra -Werror -o "$work/echo" "$native_source" >&2 ||
            ! quietly "docker build of $image" docker build -t "$image" "$work"; then
            rm -rf "$work"
            die "building $image failed"
        fi
        rm -rf "$work"
    fi
    printf '%s\n' "$image"
}

if ((help == 1)) && [[ -f $harness ]]; then
    exec dotnet "$harness" --help
fi

if [[ ${NVCF_BENCH_NO_BUILD:-0} != 1 ]]; then
    echo "bench: building the emulator and the harness (Release)"
    quietly "building the emulator" dotnet build Emulator/Emulator.csproj -c Release -nologo -tl:off -v quiet
    quietly "building the harness" dotnet build benchmarks/Invocation/Invocation.Benchmarks.csproj -c Release -nologo -tl:off -v quiet
fi
[[ -f $harness ]] || die "$harness is missing; run without NVCF_BENCH_NO_BUILD=1"
((help == 0)) || exec dotnet "$harness" --help

extra=()
if [[ $client == wrk ]]; then
    if ! command -v wrk >/dev/null 2>&1; then
        echo "bench: wrk is missing (the default load generator; --client dotnet needs none)"
        apt_install wrk
    fi
    if ((profile == 1)) && ! command -v perf >/dev/null 2>&1; then
        echo "bench: perf is missing (--profile)"
        apt_install linux-perf
    fi
    docker info >/dev/null 2>&1 || die "the Docker engine doesn't answer; run eng/setup.sh"
    if ((image_given == 0)); then
        native=$(native_echo_image)
        extra=(--image "$native")
    fi
elif ! docker image inspect nvcf-samples/echo:latest >/dev/null 2>&1; then
    echo "bench: nvcf-samples/echo:latest is missing; running eng/setup.sh"
    bash eng/setup.sh
fi

# exec: Ctrl+C and SIGTERM reach the harness itself, which stops the emulator and removes the function.
exec dotnet "$harness" "$@" "${extra[@]}"
