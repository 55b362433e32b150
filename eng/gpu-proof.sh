#!/usr/bin/env bash
# Proves that an NVCF invocation through the emulator runs on this machine's NVIDIA GPU: starts a Docker engine
# (from artifacts/gpu-proof/engine.tar.xz when there is none), builds the CUDA sample image from local files, runs
# the emulator standalone, creates, deploys and invokes a function by ID, and checks the answer: 200, "ok":true,
# and a device that is not the CPU. Ends with "gpu-proof: PASS — <device>" (exit 0) or "FAIL — <why>".
# Made for a bare GPU machine without network, Docker or .NET: bring the archives made by eng/gpu-bundle.sh to
# artifacts/gpu-proof/ in a checkout of this repository and run this as root.
#
# Usage: eng/gpu-proof.sh [--port N] [--keep] [-h]
#   --port N   the emulator's HTTP port (default 8090)
#   --keep     leave the function deployed, the emulator and the engine running
# Environment:
#   NVCF_GPU_MODE             Emulator:Gpu:Mode (Auto, NvidiaRuntime, Cdi, Devices, None; default Auto)
#   NVCF_NETWORK_MODE=host    containers share the host's network (set by itself when this script starts dockerd)
#   NVCF_PROOF_GPU            the GPU to deploy on (default: the first of GET /v2/nvcf/clusterGroups, else H100)
#   NVCF_PROOF_IMAGE          deploy this image instead of building nvcf-samples/cuda:latest
#   NVCF_PROOF_INFERENCE_URL  its inference path (default /v1/cuda)
#   NVCF_PROOF_CACHE          where archives are unpacked and logs go (default /var/tmp/nvcf-gpu-proof)
set -euo pipefail

port=8090
keep=0
while (($#)); do
    case $1 in
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "gpu-proof: unknown option '$1' (see -h)" >&2; exit 2 ;;
    esac
done

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bundle=$repo_root/artifacts/gpu-proof
cache=${NVCF_PROOF_CACHE:-/var/tmp/nvcf-gpu-proof}
image=${NVCF_PROOF_IMAGE:-nvcf-samples/cuda:latest}
inference_url=${NVCF_PROOF_INFERENCE_URL:-/v1/cuda}
network_mode=${NVCF_NETWORK_MODE:-}
api=http://127.0.0.1:$port
auth='Authorization: Bearer proof'
dockerd_log=$cache/dockerd.log
emulator_log=$cache/emulator.log
dockerd_pid='' emulator_pid='' fid='' vid='' verdict=''

say() { printf 'gpu-proof: %s\n' "$*"; }
fail() {
    verdict="FAIL — $*"
    printf 'gpu-proof: error: %s\n' "$*" >&2
    exit 1
}
section() { printf '\n=== %s\n' "$*"; }

# Unpacks artifacts/gpu-proof/NAME.tar.xz into $cache/NAME once (again when the archive is newer).
unpack() { # NAME
    local archive=$bundle/$1.tar.xz dir=$cache/$1
    [[ -f $archive ]] || fail "no $archive (make it with eng/gpu-bundle.sh on a dev machine, see its output)"
    if [[ ! -e $dir/.unpacked || $archive -nt $dir/.unpacked ]]; then
        say "unpacking ${archive#"$repo_root"/} into $cache"
        if [[ -f $bundle/SHA256SUMS ]] && command -v sha256sum >/dev/null 2>&1; then
            (cd "$bundle" && grep " $1.tar.xz\$" SHA256SUMS | sha256sum -c --quiet -) ||
                fail "$archive does not match artifacts/gpu-proof/SHA256SUMS (copy it again)"
        fi
        rm -rf "$dir"
        tar -C "$cache" -xJf "$archive" || fail "unpacking $archive failed"
        touch "$dir/.unpacked"
    fi
}

# API call: METHOD PATH [JSON]; sets status and body.
call() {
    local out args=(-s -m 330 -X "$1" "$api$2" -H "$auth" -w '\n%{http_code}')
    [[ -z ${3:-} ]] || args+=(-H 'Content-Type: application/json' --data "$3")
    out=$(curl "${args[@]}" "${@:4}") || { status=000 body=''; return 0; }
    status=${out##*$'\n'} body=${out%$'\n'*}
}

# The first string value of FIELD in the JSON on stdin (good enough for the emulator's flat-ish answers).
field() { { grep -o "\"$1\":\"[^\"]*\"" || true; } | head -n 1 | sed 's/.*:"\(.*\)"$/\1/'; }

is_dockerd() { [[ -n ${1:-} && -r /proc/$1/comm && $(</proc/"$1"/comm) == dockerd ]] && ! grep -q '^[^)]*) [ZX]' "/proc/$1/stat"; }

start_engine() {
    if docker info >/dev/null 2>&1; then
        say "using the running Docker engine $(docker version -f '{{.Server.Version}}' 2>/dev/null)"
        docker network inspect bridge >/dev/null 2>&1 || network_mode=host # an engine started with --bridge=none
        return
    fi
    ((EUID == 0)) || fail "no Docker engine answers, and starting one needs root"
    local engine_lib=''
    if ! command -v dockerd >/dev/null 2>&1; then
        unpack engine
        PATH=$cache/engine/bin:$PATH
        engine_lib=$cache/engine/lib
    fi
    if [[ -e /var/run/docker.pid ]] && ! is_dockerd "$(cat /var/run/docker.pid)"; then
        say "removing the stale /var/run/docker.pid"
        rm -f /var/run/docker.pid
    fi
    # dockerd without a bridge deletes any docker0 interface: another engine on this host would lose its bridge.
    [[ ! -e /sys/class/net/docker0 ]] || say "warning: dockerd --bridge=none will remove the existing docker0 interface"
    say "starting dockerd --iptables=false --ip-masq=false --bridge=none (log: $dockerd_log)"
    LD_LIBRARY_PATH=$engine_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
        setsid dockerd --iptables=false --ip-masq=false --bridge=none >"$dockerd_log" 2>&1 </dev/null &
    dockerd_pid=$!
    network_mode=host # no bridge: containers share the host's network
    local i
    for ((i = 0; i < 60; i++)); do
        docker info >/dev/null 2>&1 && { say "engine $(docker version -f '{{.Server.Version}}') is up"; return; }
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 1
    done
    tail -n 20 "$dockerd_log" >&2
    fail "dockerd did not answer within 60 s (log above: $dockerd_log)"
}

build_image() {
    if [[ -n ${NVCF_PROOF_IMAGE:-} ]]; then
        say "using $image (NVCF_PROOF_IMAGE: no build)"
    else
        [[ -f $repo_root/samples/cuda/build-local.sh ]] || fail "samples/cuda/build-local.sh is missing"
        bash "$repo_root/samples/cuda/build-local.sh" || fail "samples/cuda/build-local.sh failed"
    fi
    docker image inspect "$image" >/dev/null 2>&1 || fail "image $image is not there"
}

start_emulator() {
    local cmd wait_s=90 i
    curl -s -m 2 -o /dev/null "$api/" && fail "something already listens on port $port (use --port)"
    if command -v dotnet >/dev/null 2>&1 && [[ ! -f $bundle/emulator.tar.xz ]]; then
        cmd=(dotnet run --project "$repo_root/Emulator" -c Release -- --urls "$api")
        wait_s=300 # builds first
    else
        local app=$cache/emulator
        unpack emulator
        if [[ -x $app/Nvcf.Emulator && -f $app/libcoreclr.so ]]; then
            cmd=("$app/Nvcf.Emulator" --urls "$api")
        else # framework-dependent: with the runtimes from dotnet.tar.xz
            local dotnet=$cache/dotnet
            unpack dotnet
            export DOTNET_ROOT=$dotnet
            cmd=("$dotnet/dotnet" "$app/Nvcf.Emulator.dll" --urls "$api")
        fi
        ldconfig -p 2>/dev/null | grep -q libicuuc || export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
    fi
    export Emulator__GrpcUrl=''
    [[ $network_mode != host ]] || export Emulator__Docker__NetworkMode=host
    [[ -z ${NVCF_GPU_MODE:-} ]] || export Emulator__Gpu__Mode=$NVCF_GPU_MODE
    say "starting the emulator: ${cmd[*]} (network mode ${network_mode:-bridge}, GPU mode ${NVCF_GPU_MODE:-Auto}; log: $emulator_log)"
    setsid "${cmd[@]}" >"$emulator_log" 2>&1 </dev/null &
    emulator_pid=$!
    for ((i = 0; i < wait_s; i++)); do
        call GET /v2/nvcf/clusterGroups
        [[ $status != 200 ]] || break
        kill -0 "$emulator_pid" 2>/dev/null || { tail -n 30 "$emulator_log" >&2; fail "the emulator exited (log above)"; }
        sleep 1
    done
    [[ $status == 200 ]] || { tail -n 30 "$emulator_log" >&2; fail "the emulator did not answer within $wait_s s"; }
    say "GET /v2/nvcf/clusterGroups:"
    printf '%s\n' "$body"
    say "the emulator's log lines about the GPU:"
    grep -E 'GPU|CUDA|NVIDIA|/dev/nvidia' "$emulator_log" | sed 's/^/  /' || echo "  (none)"
}

create_and_deploy() {
    local gpu spec i state=''
    call POST /v2/nvcf/functions '{"name":"cuda-proof","containerImage":"'"$image"'","inferenceUrl":"'"$inference_url"'","inferencePort":8000,"health":{"protocol":"HTTP","uri":"/health","port":8000,"timeout":"PT10S","expectedStatusCode":200}}'
    [[ $status == 200 ]] || fail "creating the function answered $status: $body"
    fid=$(field id <<<"$body") vid=$(field versionId <<<"$body")
    [[ -n $fid && -n $vid ]] || fail "no function id/versionId in: $body"
    say "function $fid version $vid"

    call GET /v2/nvcf/clusterGroups
    gpu=${NVCF_PROOF_GPU:-$({ grep -o '"gpus":\[{"name":"[^"]*"' <<<"$body" || true; } | head -n 1 | sed 's/.*"name":"//; s/"$//')}
    gpu=${gpu:-H100}
    spec='{"deploymentSpecifications":[{"gpu":"'"$gpu"'","instanceType":"local.GPU.'"$gpu"'_1x","minInstances":1,"maxInstances":1}]}'
    say "deploying on $gpu: $spec"
    call POST "/v2/nvcf/deployments/functions/$fid/versions/$vid" "$spec"
    [[ $status == 200 ]] || fail "deploying answered $status: $body"
    for ((i = 0; i < 180; i++)); do
        call GET "/v2/nvcf/deployments/functions/$fid/versions/$vid"
        state=$(field functionStatus <<<"$body")
        [[ $state != ACTIVE && $state != ERROR ]] || break
        sleep 1
    done
    say "deployment ($state after ${i} s):"
    printf '%s\n' "$body"
    if [[ $state != ACTIVE ]]; then
        tail -n 30 "$emulator_log" >&2
        fail "the deployment is ${state:-unknown} (emulator log tail above)"
    fi
}

invoke() {
    local device container
    say "POST /v2/nvcf/pexec/functions/$fid {\"n\":1048576}"
    call POST "/v2/nvcf/pexec/functions/$fid" '{"n":1048576}' -H 'NVCF-POLL-SECONDS: 300'
    say "status $status, body:"
    printf '%s\n' "$body"

    section "evidence: the function's container"
    docker ps --filter "label=com.nvidia.nvcf-emulator.function-id=$fid" \
        --format 'table {{.ID}}\t{{.Names}}\t{{.Image}}\t{{.Status}}\t{{.Label "com.nvidia.nvcf-emulator.gpu"}}' || true
    for container in $(docker ps -q --filter "label=com.nvidia.nvcf-emulator.function-id=$fid"); do
        docker inspect -f 'Devices: {{range .HostConfig.Devices}}{{.PathOnHost}} {{end}}
DeviceRequests: {{json .HostConfig.DeviceRequests}}
NetworkMode: {{.HostConfig.NetworkMode}}
Binds: {{join .HostConfig.Binds "\n       "}}' "$container" || true
    done
    echo

    [[ $status == 200 ]] || fail "the invocation answered $status"
    grep -q '"ok":true' <<<"$body" || fail "the answer has no \"ok\":true"
    device=$(field device <<<"$body")
    [[ $device != CPU* ]] || fail "the function ran on the CPU: $device"
    verdict="PASS — ${device:-unknown device}"
}

stop_group() { # PID SECONDS: SIGTERM to its process group, SIGKILL after SECONDS
    local i
    kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null || return 0
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$1" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -n $verdict ]] || verdict="FAIL — stopped (exit $rc)"
    if ((keep)); then
        say "--keep: left running: emulator ${emulator_pid:-none} ($api), dockerd ${dockerd_pid:-not started here}, function ${fid:-none} version ${vid:-none}"
    else
        section "clean-up"
        if [[ -n $fid && -n $emulator_pid ]]; then
            call DELETE "/v2/nvcf/deployments/functions/$fid/versions/$vid"
            say "undeploy: $status"
            call DELETE "/v2/nvcf/functions/$fid/versions/$vid"
            say "delete function: $status"
        fi
        [[ -z $emulator_pid ]] || { stop_group "$emulator_pid" 30; say "emulator stopped"; }
        [[ -z $dockerd_pid ]] || { stop_group "$dockerd_pid" 30; say "dockerd stopped"; }
    fi
    [[ -z $emulator_pid ]] || say "emulator log: $emulator_log"
    [[ -z $dockerd_pid ]] || say "dockerd log: $dockerd_log"
    printf 'gpu-proof: %s\n' "$verdict"
    [[ $verdict == PASS* ]] && exit 0
    exit 1
}

mkdir -p "$cache"
trap cleanup EXIT
trap 'verdict="FAIL — interrupted"; exit 130' INT TERM

section "1. Docker engine"; start_engine
section "2. image"; build_image
section "3. emulator"; start_emulator
section "4-5. function and deployment"; create_and_deploy
section "6. invocation by function ID"; invoke
