#!/usr/bin/env bash
# Prepares the machine (eng/setup.sh) and starts the emulator's Aspire app host with its dashboard.
# Extra arguments go to the app host, e.g. eng/run.sh -- --some-setting value
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash eng/setup.sh
exec dotnet run --project AppHost --launch-profile http "$@"
