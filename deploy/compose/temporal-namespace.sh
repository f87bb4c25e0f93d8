#!/bin/sh
# Create returnflow's Temporal namespace unless it exists (the server image does not create one). Search
# attributes and Schedules are `returnflow temporal setup`'s job, run after this.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}"
if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "${TEMPORAL_RETENTION:-30d}"
  echo "namespace $TEMPORAL_NAMESPACE created"
fi
