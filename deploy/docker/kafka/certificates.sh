#!/usr/bin/env bash
# Makes the compose broker's TLS material once, into the volumes it is given: a CA of this
# installation (its key stays in /ca, mounted here only), the broker's key and certificate
# for the name "kafka" signed by it (/tls, mounted into the broker only), and the CA's
# certificate (/tls/ca.crt and /trust/ca.crt, which the services mount to verify the broker).
set -euo pipefail
password=${KAFKA_TLS_KEYSTORE_PASSWORD:?}
if [[ ! -s /tls/kafka.p12 ]]; then
  keytool=(keytool -storetype PKCS12 -storepass "$password")
  "${keytool[@]}" -genkeypair -keystore /ca/ca.p12 -alias ca -keyalg EC -groupname secp384r1 \
    -dname "CN=gridcase Kafka CA" -ext bc:c -validity 3650
  "${keytool[@]}" -exportcert -keystore /ca/ca.p12 -alias ca -rfc -file /tls/ca.crt
  "${keytool[@]}" -genkeypair -keystore /tls/kafka.p12 -alias kafka -keyalg EC \
    -groupname secp384r1 -dname "CN=kafka" -ext SAN=dns:kafka -validity 825
  "${keytool[@]}" -certreq -keystore /tls/kafka.p12 -alias kafka -file /tmp/kafka.csr
  "${keytool[@]}" -gencert -keystore /ca/ca.p12 -alias ca -infile /tmp/kafka.csr \
    -outfile /tmp/kafka.crt -ext SAN=dns:kafka -ext ku:c=digitalSignature,keyAgreement \
    -ext eku=serverAuth,clientAuth -rfc -validity 825
  "${keytool[@]}" -importcert -keystore /tls/kafka.p12 -alias ca -file /tls/ca.crt -noprompt
  "${keytool[@]}" -importcert -keystore /tls/kafka.p12 -alias kafka -file /tmp/kafka.crt
fi
cp /tls/ca.crt /trust/ca.crt
chown -R 1000:1000 /tls  # the image's kafka user (appuser)
chmod 600 /tls/kafka.p12
chmod 644 /tls/ca.crt /trust/ca.crt
