#!/usr/bin/env bash
# Builds the CUDA sample's image, nvcf-samples/cuda:latest, from this folder's files alone: no registry and no base
# image. With nvcc (on PATH, or /usr/local/cuda/bin/nvcc) it is the CUDA build (nvcc -O2 -cudart static), else the
# CPU build (g++ -O2 -static), whose invocations run on the CPU and name the device "CPU (built without CUDA)".
# The image (Dockerfile.local) is FROM scratch: the binary, plus for a dynamically linked one the libraries ldd
# lists, at their own paths; never the NVIDIA driver's libraries (libcuda, libnvidia-*), which are mounted into a
# container that is given a GPU.
#
# Usage: samples/cuda/build-local.sh [--quiet] [IMAGE]   (IMAGE: $NVCF_CUDA_IMAGE, else nvcf-samples/cuda:latest)
#   --quiet   print only the image name, nothing else unless something fails
# Environment: NVCC_FLAGS   more nvcc options, e.g. -arch=sm_90
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
image=${NVCF_CUDA_IMAGE:-nvcf-samples/cuda:latest}
quiet=0
for arg in "$@"; do
    case $arg in
    -q | --quiet) quiet=1 ;;
    -h | --help)
        sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "build-local: unknown option $arg" >&2
        exit 2
        ;;
    *) image=$arg ;;
    esac
done

say() { ((quiet)) || printf 'build-local: %s\n' "$*"; }
die() {
    printf 'build-local: error: %s\n' "$*" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/nvcf-cuda-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Runs a command with its output kept aside; shows the tail of it only if the command fails.
quietly() { # DESCRIPTION COMMAND...
    local what=$1 rc=0
    shift
    "$@" >"$work/output.log" 2>&1 || rc=$?
    if ((rc != 0)); then
        tail -n 60 "$work/output.log" >&2
        die "$what failed (exit $rc)"
    fi
}

command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"
docker info >/dev/null 2>&1 || die "the Docker engine (${DOCKER_HOST:-context $(docker context show 2>/dev/null || echo default)}) doesn't answer"

context=$work/context
rootfs=$context/rootfs
binary=$rootfs/usr/local/bin/cuda-function
mkdir -p "${binary%/*}"

nvcc=
if command -v nvcc >/dev/null 2>&1; then
    nvcc=$(command -v nvcc)
elif [[ -x /usr/local/cuda/bin/nvcc ]]; then
    nvcc=/usr/local/cuda/bin/nvcc
fi

if [[ -n $nvcc ]]; then
    nvcc_version=$("$nvcc" --version | sed -n 's/.*release \([0-9][0-9.]*\).*/\1/p' | head -n 1)
    read -r -a nvcc_flags <<<"${NVCC_FLAGS:-}"
    say "compiling with $nvcc (${nvcc_version:-unknown version})"
    quietly "nvcc" "$nvcc" -O2 -cudart static ${nvcc_flags[@]+"${nvcc_flags[@]}"} -o "$binary" "$here/cuda_function.cu"
    kind="CUDA build, nvcc ${nvcc_version:-unknown version}"
else
    command -v g++ >/dev/null 2>&1 || die "neither nvcc nor g++ found (Debian: apt-get install g++)"
    say "no nvcc found: compiling the CPU build with g++"
    quietly "g++" g++ -O2 -static -x c++ -o "$binary" "$here/cuda_function.cu"
    kind="CPU build: no nvcc found"
fi

# A dynamically linked binary (nvcc links glibc and libstdc++ dynamically) takes its libraries along, the loader
# included, each at the absolute path ldd names. ldd fails, or says so, for a static binary: nothing to copy.
library_dirs=()
copied=0
if ldd_output=$(ldd "$binary" 2>&1) && ! grep -qE 'not a dynamic executable|statically linked' <<<"$ldd_output"; then
    while read -r line; do
        path=
        case $line in
        *'=> not found'*) die "ldd: a library the binary needs is missing: $line" ;;
        *'=> /'*)
            path=${line#*=> }
            path=${path%% *}
            ;;
        /*) path=${line%% *} ;;
        esac
        [[ -n $path ]] || continue # linux-vdso.so.1: the kernel's
        case ${path##*/} in
        libcuda.so* | libnvidia-*) continue ;; # the host driver's, mounted at run time
        esac
        mkdir -p "$rootfs${path%/*}"
        cp -L "$path" "$rootfs$path"
        copied=$((copied + 1))
        case " ${library_dirs[*]-} " in
        *" ${path%/*} "*) ;;
        *) library_dirs+=("${path%/*}") ;;
        esac
    done <<<"$ldd_output"
fi
library_path=
for dir in ${library_dirs[@]+"${library_dirs[@]}"}; do
    library_path+=$dir:
done
library_path+=/usr/local/nvidia/lib:/usr/local/nvidia/lib64
say "image from scratch: the binary and $copied shared librar$( ((copied == 1)) && echo y || echo ies)"

cp "$here/Dockerfile.local" "$context/Dockerfile"
previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
quietly "docker build" docker build --build-arg "LIBRARY_PATH=$library_path" -t "$image" "$context"
if [[ -n $previous && $previous != "$(docker image inspect --format '{{.Id}}' "$image")" ]]; then
    docker image rm "$previous" >/dev/null 2>&1 || true # the replaced build, unless a container still uses it
fi

if ((quiet)); then
    echo "$image"
else
    echo "build-local: $image ($kind)"
fi
