#!/usr/bin/env bash
# Runs the whole test suite the way CI does: eng/setup.sh (Docker engine, images), `dotnet pack` of the packages into
# artifacts/packages, `dotnet test` on the solution, then the package tests (tests/Packages.Tests, outside the
# solution: a new app host from the hosting package, the nvcf-emulator tool installed from it), and ends with one
# line summed over all test projects: "N passed, N failed" (", N skipped" if any).
# Exits non-zero if setup, dotnet pack, dotnet test or the benchmark smoke run failed, a test failed, or no test ran at all.
# Docker-dependent tests must run here, not skip: NVCF_EMULATOR_REQUIRE_DOCKER=1 tells them so.
#
# Usage: eng/test.sh [dotnet test arguments...]     e.g. eng/test.sh --filter "FullyQualifiedName~Queue"
#   NVCF_SOLUTION   the solution or project to test (default: Emulator.sln, else Emulator.slnx, at the repo root)
#   NVCF_SKIP_SETUP=1  don't run eng/setup.sh first
#   NVCF_SKIP_BENCH=1  don't run the benchmark's smoke runs (eng/bench.sh --smoke, with --scale and --pending 300) after the tests
#   NVCF_SKIP_PACKAGES=1  don't pack, and don't run the package tests (the arguments apply to both test runs)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

export NVCF_EMULATOR_REQUIRE_DOCKER=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [[ ${NVCF_SKIP_SETUP:-0} != 1 ]]; then
    bash eng/setup.sh || {
        echo "test: eng/setup.sh failed (exit $?)" >&2
        exit 1
    }
fi

solution=${NVCF_SOLUTION:-}
if [[ -z $solution ]]; then
    for candidate in Emulator.sln Emulator.slnx; do
        if [[ -f $candidate ]]; then
            solution=$candidate
            break
        fi
    done
fi
[[ -n $solution && -e $solution ]] || {
    echo "test: no solution to test (looked for Emulator.sln and Emulator.slnx in $repo_root)" >&2
    exit 1
}

# Everything is written to a file that is shown as it grows. Not a pipe into tee: processes that the tests start
# (the Aspire orchestrator, app hosts) can outlive dotnet test, hold a pipe open and make the script hang.
log=$(mktemp /tmp/nvcf-test.XXXXXX.log)
run_all() {
    local rc=0
    bash eng/check-contract-links.sh || return 1
    if [[ ${NVCF_SKIP_PACKAGES:-0} != 1 ]]; then
        rm -rf artifacts/packages
        # The two packable projects only (`dotnet pack` at the root packs the same two, building everything else too).
        dotnet pack Emulator/Emulator.csproj -c Release -o artifacts/packages --nologo -tl:off || return 1
        dotnet pack Emulator.Hosting/Emulator.Hosting.csproj -c Release -o artifacts/packages --nologo -tl:off || return 1
    fi
    dotnet test "$solution" --nologo -tl:off "$@" || rc=$?
    if [[ ${NVCF_SKIP_PACKAGES:-0} != 1 ]]; then
        NVCF_PACKAGES="$repo_root/artifacts/packages" dotnet test tests/Packages.Tests --nologo -tl:off "$@" || rc=$?
    fi
    # The benchmark's smoke run (seconds of load, no goal judged), so the harness cannot rot.
    if [[ ${NVCF_SKIP_BENCH:-0} != 1 ]]; then
        bash eng/bench.sh --smoke || rc=$?
        NVCF_BENCH_NO_BUILD=1 bash eng/bench.sh --smoke --scale || rc=$?
        NVCF_BENCH_NO_BUILD=1 bash eng/bench.sh --smoke --pending 300 || rc=$?
    fi
    return "$rc"
}
run_all "$@" >"$log" 2>&1 </dev/null &
test_pid=$!
trap 'kill "$test_pid" 2>/dev/null || true; exit 130' INT
trap 'kill "$test_pid" 2>/dev/null || true; exit 143' TERM
tail -n +1 -f --pid="$test_pid" "$log"
rc=0
wait "$test_pid" || rc=$?
trap - INT TERM

# VSTest prints one line per test project:
#   Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total:    12, Duration: 3 s - Foo.Tests.dll (net10.0)
# Microsoft.Testing.Platform's `dotnet test` prints one summary for the run instead:
#   Test run summary: Passed! ...  total: 12  failed: 0  succeeded: 12  skipped: 0
read -r passed failed skipped _ < <(
    sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" | awk '
        match($0, /[A-Za-z]+! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/) {
            s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]+/, " ", s); split(s, n, " ")
            f += n[1]; p += n[2]; k += n[3]; projects++; next
        }
        /Test run summary:/ { mtp = 1; mf = mp = mk = 0; next }
        mtp && $1 == "failed:"    { mf = $2 }
        mtp && $1 == "succeeded:" { mp = $2 }
        mtp && $1 == "skipped:"   { mk = $2 }
        END {
            if (projects == 0 && mtp) { p = mp; f = mf; k = mk; projects = 1 }
            printf "%d %d %d %d\n", p, f, k, projects
        }')

status=0
if ((rc != 0)); then
    echo "test: dotnet pack or dotnet test exited with $rc (full log: $log)" >&2
    status=1
fi
if ((failed > 0)); then
    status=1
fi
if ((passed + failed + skipped == 0)); then
    echo "test: no test ran (log: $log)" >&2
    status=1
fi

summary="$passed passed, $failed failed"
((skipped == 0)) || summary+=", $skipped skipped"
echo "$summary"
exit "$status"
