#!/usr/bin/env bash
# Benchmarks invocation: the echo sample hit directly on its published port and through pexec, alternating, in one
# run (benchmarks/Invocation/README.md). Builds the emulator and the harness in Release, then runs the harness,
# which starts the emulator on a free port, deploys the echo function, measures, and cleans everything up.
# Needs a Docker engine and nvcf-samples/echo:latest: eng/setup.sh is run first if that image is missing.
#
# Usage: eng/bench.sh [harness options...]   e.g. eng/bench.sh --rounds 3 --duration 3
#   --rounds N --requests N --duration S --connections N --emulator URL ...   (eng/bench.sh --help lists them)
#   NVCF_BENCH_NO_BUILD=1   don't build (use the Release builds already there)
# Exit status: the harness's: 0 measured, 1 failed (setup, or any request answered other than 200 with the body).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

harness=benchmarks/Invocation/bin/Release/net10.0/Invocation.Benchmarks.dll

help=0
for arg in "$@"; do
    case $arg in -h | --help) help=1 ;; esac
done

quietly() { # DESCRIPTION COMMAND...
    local what=$1 out rc=0
    shift
    out=$(mktemp)
    "$@" >"$out" 2>&1 </dev/null || rc=$?
    if ((rc != 0)); then
        tail -n 60 "$out" >&2
        rm -f "$out"
        echo "bench: $what failed (exit $rc)" >&2
        exit 1
    fi
    rm -f "$out"
}

if ((help == 1)) && [[ -f $harness ]]; then
    exec dotnet "$harness" --help
fi

if [[ ${NVCF_BENCH_NO_BUILD:-0} != 1 ]]; then
    echo "bench: building the emulator and the harness (Release)"
    quietly "building the emulator" dotnet build Emulator/Emulator.csproj -c Release -nologo -tl:off -v quiet
    quietly "building the harness" dotnet build benchmarks/Invocation/Invocation.Benchmarks.csproj -c Release -nologo -tl:off -v quiet
fi
[[ -f $harness ]] || {
    echo "bench: $harness is missing; run without NVCF_BENCH_NO_BUILD=1" >&2
    exit 1
}

if ((help == 0)) && ! docker image inspect nvcf-samples/echo:latest >/dev/null 2>&1; then
    echo "bench: nvcf-samples/echo:latest is missing; running eng/setup.sh"
    bash eng/setup.sh
fi

# exec: Ctrl+C and SIGTERM reach the harness itself, which stops the emulator and removes the function.
exec dotnet "$harness" "$@"
