#!/usr/bin/env bash
# Set the per-pool step limits of the Dagster instance at $DAGSTER_HOME (they live in its
# database: dagster.yaml only sets the default for pools nobody has set). Idempotent; run it once
# per instance, and again to change a limit. Override a limit with e.g. POOL_OPENAI_LIMIT=16.
set -euo pipefail
: "${DAGSTER_HOME:?set DAGSTER_HOME to the folder holding dagster.yaml}"
DAGSTER="${DAGSTER_BIN:-dagster}"

# OpenAI and Anthropic: concurrent requests your account's rate limits allow.
# local_cpu: offline transcription/analysis steps, which use one CPU core each.
"$DAGSTER" instance concurrency set openai "${POOL_OPENAI_LIMIT:-8}"
"$DAGSTER" instance concurrency set anthropic "${POOL_ANTHROPIC_LIMIT:-8}"
"$DAGSTER" instance concurrency set local_cpu "${POOL_LOCAL_CPU_LIMIT:-$(nproc)}"
"$DAGSTER" instance concurrency get --all
