#!/usr/bin/env bash
# Static checks of everything that cannot run on this machine (no Docker, no cluster):
# the compose file (compose-go loader), every kustomize overlay (strict schema check),
# Prometheus configurations and alert rules (promtool), then the invariant tests.
set -euo pipefail
cd "$(dirname "$0")/../.."

validator=.local/bin/gridcase-validate
if [[ ! -x $validator ]] || [[ -n $(find deploy/validate -newer "$validator" \( -name '*.go' -o -name 'go.*' \)) ]]; then
  echo "[validate] building $validator"
  mkdir -p .local/bin
  (cd deploy/validate && go build -o ../../"$validator" .)
fi

"$validator" compose -env-file .env.example docker-compose.yml
"$validator" k8s k8s/overlays/*/
promtool check config deploy/prometheus/prometheus.yml deploy/prometheus/prometheus.compose.yml
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml
.venv/bin/python -m pytest -q tests/deploy
