#!/usr/bin/env bash
# Prepares a machine for the NVCF emulator and its tests:
#   1. a Docker engine that answers (installs Debian's docker.io and starts dockerd only where there is none),
#   2. a Docker CLI >= 25 first on PATH (Aspire's orchestrator, DCP, drives containers through the CLI),
#   3. the container images that can't be pulled on an offline machine, built locally once:
#        nvcf-local/aspnet:10.0  an ASP.NET runtime base for the .NET samples (if mcr.microsoft.com/dotnet/aspnet:10.0
#                                is neither present nor pullable),
#        redis:8.6               what Aspire.Hosting.Redis asks for (docker.io/library/redis:8.6), if not pullable,
#        nvcf-local/busybox:1.35 a busybox base for the test functions (if busybox:1.36 is neither present nor pullable),
#   4. the sample and test function images (eng/build-samples.sh),
#   5. the emulator's own image, nvcf-emulator:local (eng/build-emulator-image.sh), for running it without .NET.
# Idempotent and quiet when there is nothing to do; a machine with a normal Docker install and a registry is left
# as it is (images are pulled there, not built). DOCKER_HOST and docker contexts are honoured: an engine that
# isn't local is never installed or started, only required to answer.
#
# Environment:
#   NVCF_SETUP_PULL=0      don't try `docker pull` before building an image locally (default: try, 60 s at most)
#   NVCF_CACHE_DIR         where the debootstrap'ed Debian root is cached (default /var/cache/nvcf-emulator)
#   NVCF_DEBIAN_MIRROR     mirror for debootstrap (default http://deb.debian.org/debian)
#   NVCF_SKIP_SAMPLES=1    don't build the sample images
#   NVCF_SKIP_EMULATOR_IMAGE=1  don't build the emulator's image
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_dir=${NVCF_CACHE_DIR:-/var/cache/nvcf-emulator}
debian_mirror=${NVCF_DEBIAN_MIRROR:-http://deb.debian.org/debian}
dockerd_log=/tmp/dockerd.log

aspnet_public=mcr.microsoft.com/dotnet/aspnet:10.0
aspnet_local=nvcf-local/aspnet:10.0
redis_image=redis:8.6 # = docker.io/library/redis:8.6, the tag Aspire.Hosting.Redis 13.6.5 asks for
busybox_public=busybox:1.36
busybox_local=nvcf-local/busybox:1.35
min_cli_major=25

# dockerd, debootstrap and chroot live in sbin, which a non-login PATH may lack. Appended: the docker CLI found
# first stays first (/usr/local/bin/docker 28.x here, not Debian's /usr/bin/docker 20.10).
for d in /usr/sbin /sbin; do
    case ":$PATH:" in *":$d:"*) ;; *) PATH="$PATH:$d" ;; esac
done

say() { printf 'setup: %s\n' "$*"; }
tool=setup
# shellcheck source=eng/lib/build-common.sh
source "$repo_root/eng/lib/build-common.sh"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# A registry may be reachable (a developer's machine): then the real image is better than a local build.
try_pull() { # IMAGE
    [[ ${NVCF_SETUP_PULL:-1} != 0 ]] || return 1
    timeout 60 docker pull -q "$1" >/dev/null 2>&1
}

# --------------------------------------------------------------------------------------------------- the engine

engine_answers() { docker info >/dev/null 2>&1; }

engine_is_local() {
    case "${DOCKER_HOST:-}" in
    "" | unix:///var/run/docker.sock | unix:///run/docker.sock) ;;
    *) return 1 ;;
    esac
    # A non-default context (Docker Desktop, a remote engine) isn't ours to start either.
    [[ $(docker context show 2>/dev/null || echo default) == default ]]
}

# A live dockerd: a killed one can linger as a zombie (where nothing reaps orphans) and still be named dockerd.
is_dockerd() {
    local stat
    [[ -n ${1:-} && -r /proc/$1/comm && $(</proc/"$1"/comm) == dockerd ]] || return 1
    stat=$(</proc/"$1"/stat) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != [ZX] ]]
}

wait_for_engine() { # PID_OR_EMPTY SECONDS
    local pid=$1 i
    for ((i = 0; i < $2; i++)); do
        engine_answers && return 0
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 1
    done
    engine_answers
}

ensure_engine() {
    engine_answers && return 0

    if ! engine_is_local; then
        die "the Docker engine (${DOCKER_HOST:-context $(docker context show 2>/dev/null)}) doesn't answer:
$(docker info 2>&1 >/dev/null | tail -n 3)
Start it, or point DOCKER_HOST at one that runs; this script starts only a local engine."
    fi

    if ! command -v dockerd >/dev/null 2>&1; then
        apt_install docker.io
        hash -r
        engine_answers && return 0 # the package may have started it
    fi

    # A dockerd that runs but doesn't answer is starting up, or not ours to fix (e.g. no access to its socket).
    local pid='' p
    [[ -r /var/run/docker.pid ]] && pid=$(</var/run/docker.pid)
    if ! is_dockerd "$pid"; then
        pid=
        for p in $(pgrep -x dockerd 2>/dev/null || true); do
            if is_dockerd "$p"; then
                pid=$p
                break
            fi
        done
    fi
    if is_dockerd "$pid"; then
        wait_for_engine "$pid" 30 && return 0
        die "dockerd runs (pid $pid) but 'docker info' fails:
$(docker info 2>&1 >/dev/null | tail -n 3)"
    fi

    ((EUID == 0)) || die "the Docker engine isn't running. Start it (e.g. 'sudo systemctl start docker', or
'sudo setsid dockerd > /tmp/dockerd.log 2>&1 &') and run this again."

    if [[ -e /var/run/docker.pid ]]; then
        # Left by a dockerd that was killed; a new one refuses to start while it exists.
        rm -f /var/run/docker.pid
    fi

    if [[ -d /run/systemd/system ]] && systemctl cat docker.service >/dev/null 2>&1; then
        say "starting the Docker engine (systemctl start docker)"
        quietly "systemctl start docker" systemctl start docker
        wait_for_engine "" 60 || die "the Docker engine didn't answer within 60 s of 'systemctl start docker'"
        return 0
    fi

    say "starting the Docker engine (dockerd, log: $dockerd_log)"
    setsid dockerd >"$dockerd_log" 2>&1 </dev/null &
    local started=$!
    if ! wait_for_engine "$started" 60; then
        tail -n 20 "$dockerd_log" >&2 || true
        die "dockerd didn't answer within 60 s (log above: $dockerd_log)"
    fi
}

check_cli() {
    local version major
    version=$(docker version --format '{{.Client.Version}}' 2>/dev/null || true)
    major=${version%%.*}
    if ! [[ $major =~ ^[0-9]+$ ]] || ((major < min_cli_major)); then
        die "the docker CLI first on PATH ($(command -v docker)) is version ${version:-unknown}; Aspire's
orchestrator (DCP) drives containers through the docker CLI and needs version $min_cli_major or newer (with an
older CLI, Aspire only says after ~60 s that the container runtime 'appears to be unhealthy'). Debian's docker.io
installs CLI 20.10 as /usr/bin/docker: put a newer CLI first on PATH, e.g. Docker's static build
(https://download.docker.com/linux/static/stable/) or Debian trixie's docker-cli package, in /usr/local/bin.
These machines ship /usr/local/bin/docker 28.x. The engine itself may stay at 20.10."
    fi
}

# ----------------------------------------------------------------------------------------------- local images

dotnet_root() {
    local dir
    dir=$(dotnet --list-runtimes 2>/dev/null | sed -n 's/^Microsoft\.NETCore\.App [^ ]* \[\(.*\)\/shared\/Microsoft\.NETCore\.App\]$/\1/p' | head -n 1)
    if [[ -z $dir ]] && command -v dotnet >/dev/null 2>&1; then
        dir=$(dirname "$(readlink -f "$(command -v dotnet)")")
    fi
    [[ -n $dir && -x $dir/dotnet ]] || die "can't find the .NET install (no 'dotnet' on PATH?)"
    printf '%s\n' "$dir"
}

newest_version_dir() { # DIR PREFIX: the newest DIR/PREFIX* by version
    find "$1" -mindepth 1 -maxdepth 1 -type d -name "$2*" -printf '%f\n' | sort -V | tail -n 1
}

# A Debian bookworm root (debootstrap --variant=minbase) with what .NET needs beyond it, as Microsoft's aspnet image
# has (OpenSSL for cryptography and TLS, CA certificates, time zones), cached: a re-run costs nothing.
debian_packages=libssl3,ca-certificates,tzdata
debian_root=$cache_dir/bookworm-minbase-dotnet
ensure_debian_rootfs() {
    if [[ ! -e $debian_root/.complete ]]; then
        command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
        say "debootstrap bookworm into $debian_root (once, ~30 s)"
        as_root mkdir -p "$cache_dir"
        as_root rm -rf "$debian_root.tmp" "$debian_root"
        quietly "debootstrap" as_root debootstrap --variant=minbase --include="$debian_packages" bookworm "$debian_root.tmp" "$debian_mirror"
        as_root touch "$debian_root.tmp/.complete"
        as_root mv "$debian_root.tmp" "$debian_root"
    fi
}

# nvcf-local/aspnet:10.0: Debian bookworm + this machine's .NET 10 and ASP.NET Core runtimes, laid out like
# mcr.microsoft.com/dotnet/aspnet:10.0 (/usr/share/dotnet, /usr/bin/dotnet, user 'app' uid 1654, WORKDIR /app).
build_aspnet_base() {
    local root netcore aspnetcore stage
    root=$(dotnet_root)
    netcore=$(newest_version_dir "$root/shared/Microsoft.NETCore.App" 10.)
    aspnetcore=$(newest_version_dir "$root/shared/Microsoft.AspNetCore.App" 10.)
    [[ -n $netcore && -n $aspnetcore ]] ||
        die "building $aspnet_local needs the .NET 10 and ASP.NET Core 10 runtimes under $root (see 'dotnet --list-runtimes')"
    ensure_debian_rootfs

    say "building $aspnet_local (Debian bookworm + .NET $netcore / ASP.NET Core $aspnetcore from $root)"
    stage=$(mktemp -d /tmp/nvcf-aspnet.XXXXXX)
    as_root cp -a "$debian_root/." "$stage/"
    as_root rm -f "$stage/.complete"
    as_root mkdir -p "$stage/usr/share/dotnet/shared/Microsoft.NETCore.App" \
        "$stage/usr/share/dotnet/shared/Microsoft.AspNetCore.App" "$stage/app"
    as_root cp -a "$root/dotnet" "$root/host" "$stage/usr/share/dotnet/"
    as_root cp -a "$root/shared/Microsoft.NETCore.App/$netcore" "$stage/usr/share/dotnet/shared/Microsoft.NETCore.App/"
    as_root cp -a "$root/shared/Microsoft.AspNetCore.App/$aspnetcore" "$stage/usr/share/dotnet/shared/Microsoft.AspNetCore.App/"
    as_root ln -sf ../share/dotnet/dotnet "$stage/usr/bin/dotnet"
    quietly "adding user app" as_root chroot "$stage" sh -c \
        'groupadd --system --gid 1654 app && useradd --no-log-init --system --uid 1654 --gid app --create-home app'

    local rc=0
    as_root tar --numeric-owner -C "$stage" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' \
        --exclude='./usr/share/doc/*' --exclude='./usr/share/man/*' --exclude='./usr/share/info/*' \
        --exclude='./usr/share/locale/*' --exclude='./var/cache/apt/*' --exclude='./var/lib/apt/lists/*' \
        --exclude='./var/log/*' -c . |
        docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/share/dotnet' \
            --change 'ENV APP_UID=1654' \
            --change 'ENV ASPNETCORE_HTTP_PORTS=8080' \
            --change 'ENV DOTNET_RUNNING_IN_CONTAINER=true' \
            --change 'ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1' \
            --change "ENV DOTNET_VERSION=$netcore" \
            --change "ENV ASPNET_VERSION=$aspnetcore" \
            --change 'WORKDIR /app' \
            --change 'CMD ["bash"]' \
            --change 'LABEL org.opencontainers.image.description="Local stand-in for mcr.microsoft.com/dotnet/aspnet:10.0, built by eng/setup.sh"' \
            --change "LABEL com.nvidia.nvcf-emulator.base-packages=$debian_packages" \
            - "$aspnet_local" >/dev/null || rc=$?
    as_root rm -rf "$stage"
    ((rc == 0)) || die "importing $aspnet_local failed"

    docker run --rm "$aspnet_local" dotnet --list-runtimes 2>&1 | grep -q "Microsoft.AspNetCore.App $aspnetcore" || {
        docker image rm "$aspnet_local" >/dev/null 2>&1 || true
        die "$aspnet_local was built but 'dotnet --list-runtimes' doesn't work in it"
    }
}

ensure_aspnet_base() {
    have_image "$aspnet_public" && return 0
    # A local base built with other packages (an older setup) is built again.
    [[ $(docker image inspect --format '{{index .Config.Labels "com.nvidia.nvcf-emulator.base-packages"}}' "$aspnet_local" 2>/dev/null) == "$debian_packages" ]] &&
        return 0
    if try_pull "$aspnet_public"; then
        say "pulled $aspnet_public"
        return 0
    fi
    build_aspnet_base
}

# redis:8.6 from Debian's redis-server: FROM scratch, the binaries and the libraries ldd names, and bash as
# /bin/sh (Aspire runs `/bin/sh -c "redis-server --requirepass $REDIS_PASSWORD"`; bash execs the last command, so
# redis-server becomes PID 1 and stops on SIGTERM at once - dash would stay PID 1 and make every stop take 10 s).
build_redis() {
    local work rootfs x libdir multiarch loader lib bin rc=0 libs
    command -v apt-get >/dev/null 2>&1 || die "building $redis_image needs apt-get (Debian's redis-server package)"
    say "building $redis_image (FROM scratch, Debian's redis-server)"
    work=$(mktemp -d /tmp/nvcf-redis.XXXXXX)
    rootfs=$work/rootfs
    x=$work/x
    mkdir -p "$work/debs" "$x"
    chmod 755 "$work"
    if id _apt >/dev/null 2>&1 && ((EUID == 0)); then chown _apt "$work/debs"; fi # apt's download sandbox
    if ! (cd "$work/debs" && apt-get download -q redis-server redis-tools libjemalloc2 liblzf1 >"$work/apt.log" 2>&1); then
        quietly "apt-get update" as_root apt-get update -q
        apt_updated=1
        (cd "$work/debs" && apt-get download -q redis-server redis-tools libjemalloc2 liblzf1 >"$work/apt.log" 2>&1) ||
            { tail -n 20 "$work/apt.log" >&2; die "apt-get download of redis failed"; }
    fi
    for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$x"; done

    mkdir -p "$rootfs/usr/bin" "$rootfs/usr/lib64" "$rootfs/etc" "$rootfs/data" "$rootfs/tmp"
    chmod 1777 "$rootfs/tmp"
    ln -s usr/bin "$rootfs/bin"
    ln -s usr/lib "$rootfs/lib"
    ln -s usr/lib64 "$rootfs/lib64"
    # redis-server is a link to redis-check-rdb; the binary picks its role from argv[0].
    cp -L "$x/usr/bin/redis-server" "$rootfs/usr/bin/redis-server"
    cp -L "$x/usr/bin/redis-cli" "$rootfs/usr/bin/redis-cli"
    cp -L "$(command -v bash)" "$rootfs/usr/bin/bash"
    ln -s bash "$rootfs/usr/bin/sh"
    printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999:redis:/data:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nredis:x:999:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

    libdir=$(find "$x" -name 'libjemalloc.so.2' -printf '%h\n' | head -n 1)
    libs=$(for bin in "$rootfs/usr/bin/redis-server" "$rootfs/usr/bin/redis-cli" "$rootfs/usr/bin/bash"; do
        LD_LIBRARY_PATH=$libdir ldd "$bin"
    done)
    if grep -q 'not found' <<<"$libs"; then
        die "libraries missing on this machine for Debian's redis: $(grep 'not found' <<<"$libs" | awk '{print $1}' | sort -u | tr '\n' ' ')"
    fi
    multiarch=$(awk '$1 == "libc.so.6" { print $3 }' <<<"$libs" | head -n 1)
    multiarch=$(basename "$(dirname "$multiarch")")
    mkdir -p "$rootfs/usr/lib/$multiarch"
    while read -r lib; do
        cp -L "$lib" "$rootfs/usr/lib/$multiarch/"
    done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<<"$libs" | sort -u)
    loader=$(awk '$1 ~ /^\/.*ld-linux/ { print $1 }' <<<"$libs" | head -n 1)
    [[ -n $loader ]] || die "can't find the dynamic loader in ldd's output"
    mkdir -p "$(dirname "$rootfs$loader")"
    cp -L "$loader" "$rootfs$loader"

    tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . |
        docker import \
            --change 'WORKDIR /data' \
            --change 'EXPOSE 6379' \
            --change 'CMD ["redis-server"]' \
            --change 'LABEL org.opencontainers.image.description="Local stand-in for docker.io/library/redis:8.6 (Debian'"'"'s redis-server), built by eng/setup.sh"' \
            - "$redis_image" >/dev/null || rc=$?
    rm -rf "$work"
    ((rc == 0)) || die "importing $redis_image failed"
    verify_redis || {
        docker image rm "$redis_image" >/dev/null 2>&1 || true
        die "$redis_image was built but doesn't work (see above)"
    }
}

# Starts it the way Aspire does, asks for PONG, and checks that it stops at once.
verify_redis() {
    local cid i pong=
    cid=$(docker run -d --rm -p 127.0.0.1::6379 --entrypoint /bin/sh "$redis_image" -c 'redis-server --requirepass verify') ||
        return 1
    for ((i = 0; i < 50; i++)); do
        pong=$(docker exec "$cid" redis-cli -a verify --no-auth-warning ping 2>/dev/null || true)
        [[ $pong == PONG ]] && break
        sleep 0.2
    done
    local t0=$SECONDS
    docker stop "$cid" >/dev/null 2>&1 || true
    if [[ $pong != PONG ]]; then
        echo "redis-cli ping got '${pong}'" >&2
        return 1
    fi
    if ((SECONDS - t0 > 5)); then
        echo "'docker stop' took $((SECONDS - t0)) s: redis-server doesn't get SIGTERM (is /bin/sh bash?)" >&2
        return 1
    fi
}

ensure_redis() {
    have_image "$redis_image" && return 0
    if try_pull "$redis_image"; then
        say "pulled $redis_image"
        return 0
    fi
    build_redis
}

# nvcf-local/busybox:1.35: FROM scratch with Debian's static busybox and its applets linked into /bin.
build_busybox_base() {
    local work rc=0
    command -v apt-get >/dev/null 2>&1 || die "building $busybox_local needs apt-get (Debian's busybox-static package)"
    say "building $busybox_local (FROM scratch, Debian's busybox-static)"
    work=$(mktemp -d /tmp/nvcf-busybox.XXXXXX)
    chmod 755 "$work"
    mkdir -p "$work/debs" "$work/x" "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
    if id _apt >/dev/null 2>&1 && ((EUID == 0)); then chown _apt "$work/debs"; fi
    if ! (cd "$work/debs" && apt-get download -q busybox-static >"$work/apt.log" 2>&1); then
        quietly "apt-get update" as_root apt-get update -q
        apt_updated=1
        (cd "$work/debs" && apt-get download -q busybox-static >"$work/apt.log" 2>&1) ||
            { tail -n 20 "$work/apt.log" >&2; die "apt-get download of busybox-static failed"; }
    fi
    dpkg -x "$work"/debs/busybox-static_*.deb "$work/x"
    cp "$work/x/bin/busybox" "$work/rootfs/bin/busybox"
    chmod 1777 "$work/rootfs/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$work/rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
    printf 'FROM scratch\nCOPY rootfs /\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["sh"]\n' >"$work/Dockerfile"
    quietly "docker build $busybox_local" docker build -t "$busybox_local" "$work" || rc=$?
    rm -rf "$work"
    ((rc == 0)) || die "building $busybox_local failed"
}

ensure_busybox_base() {
    have_image "$busybox_public" && return 0
    have_image "$busybox_local" && return 0
    if try_pull "$busybox_public"; then
        say "pulled $busybox_public"
        return 0
    fi
    build_busybox_base
}

# ---------------------------------------------------------------------------------------------------------- main

ensure_engine
check_cli
ensure_aspnet_base
ensure_redis
ensure_busybox_base

images=()
if have_image "$aspnet_public"; then images+=("$aspnet_public"); else images+=("$aspnet_local"); fi
images+=("$redis_image")
if have_image "$busybox_public"; then images+=("$busybox_public"); else images+=("$busybox_local"); fi
if [[ ${NVCF_SKIP_SAMPLES:-0} != 1 ]]; then
    # samples/cuda compiles with nvcc where there is one, else its CPU build with g++.
    command -v nvcc >/dev/null 2>&1 || [[ -x /usr/local/cuda/bin/nvcc ]] || command -v g++ >/dev/null 2>&1 || apt_install g++
    while read -r image; do
        images+=("$image")
    done < <(bash "$repo_root/eng/build-samples.sh" --quiet)
fi
if [[ ${NVCF_SKIP_EMULATOR_IMAGE:-0} != 1 ]]; then
    images+=("$(bash "$repo_root/eng/build-emulator-image.sh" --quiet)")
fi

IFS=, read -r server_version api_version < <(docker version --format '{{.Server.Version}},{{.Server.APIVersion}}')
cli_version=$(docker version --format '{{.Client.Version}}' 2>/dev/null || true)
summary=$(printf '%s, ' "${images[@]}")
say "docker engine $server_version (API $api_version), CLI $cli_version, images ready: ${summary%, }"
