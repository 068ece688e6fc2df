#!/usr/bin/env bash
# Starts the compose broker: writes its configuration from server.properties and the
# environment, formats an empty data folder once with the broker's and the administrator's
# SCRAM users (the services' users are set by kafka-init), then runs Kafka. Also writes the
# administrator's client settings for the healthcheck.
set -euo pipefail
config=/tmp/server.properties
umask 077
sed -e "s|\${KAFKA_TLS_KEYSTORE_PASSWORD}|${KAFKA_TLS_KEYSTORE_PASSWORD:?}|g" \
    -e "s|\${KAFKA_BROKER_PASSWORD}|${KAFKA_BROKER_PASSWORD:?}|g" \
    /etc/kafka/gridcase/server.properties > "$config"
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD:?}";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/tls/ca.crt
PROPERTIES
if [[ ! -e /var/lib/kafka/data/meta.properties ]]; then
  /opt/kafka/bin/kafka-storage.sh format -t "${CLUSTER_ID:?}" -c "$config" \
    --add-scram "SCRAM-SHA-512=[name=broker,password=${KAFKA_BROKER_PASSWORD}]" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$config"
