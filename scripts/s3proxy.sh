#!/usr/bin/env bash
# Starts S3Proxy on localhost so the bucket flow can be tried without a cloud account.
# The jar comes from Maven Central through the project's Maven wrapper (cached in target/emulators).
# Objects live in S3Proxy's memory (transient store): they are gone when it stops.
#
#   scripts/s3proxy.sh            # foreground, Ctrl-C stops it
#   S3PROXY_PORT=9100 scripts/s3proxy.sh
#
# Then point the hub at it (the keys below are S3PROXY_ACCESS_KEY / S3PROXY_SECRET_KEY):
#   HUB_S3_ENDPOINT=http://127.0.0.1:9000 HUB_S3_ACCESS_KEY=local-access-key \
#   HUB_S3_SECRET_KEY=local-secret-key HUB_S3_PATH_STYLE=true ...
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.1.0
PORT="${S3PROXY_PORT:-9000}"
ACCESS_KEY="${S3PROXY_ACCESS_KEY:-local-access-key}"
SECRET_KEY="${S3PROXY_SECRET_KEY:-local-secret-key}"
HEAP="${S3PROXY_HEAP:-1g}"
JAR=target/emulators/s3proxy.jar

if [ ! -f "$JAR" ]; then
  echo "Fetching org.gaul:s3proxy:$VERSION (jar-with-dependencies) through the Maven wrapper..."
  ./mvnw -B -q dependency:copy \
    -Dartifact="org.gaul:s3proxy:$VERSION:jar:jar-with-dependencies" \
    -DoutputDirectory=target/emulators
  mv "target/emulators/s3proxy-$VERSION-jar-with-dependencies.jar" "$JAR"
fi

PROPS="$(mktemp -t s3proxy-XXXXXX.properties)"
trap 'rm -f "$PROPS"' EXIT
cat > "$PROPS" <<PROPERTIES
s3proxy.endpoint=http://127.0.0.1:$PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$ACCESS_KEY
s3proxy.credential=$SECRET_KEY
jclouds.provider=transient
jclouds.identity=$ACCESS_KEY
jclouds.credential=$SECRET_KEY
PROPERTIES

echo "S3Proxy on http://127.0.0.1:$PORT (access key $ACCESS_KEY); objects are kept in memory until it stops."
java -Xmx"$HEAP" -jar "$JAR" --properties "$PROPS"
