#!/bin/sh
# Formats the storage (first start only) and runs the broker. Two client listeners:
#   BROKER   0.0.0.0:9092, advertised as $KAFKA_NETWORK_HOST:9092 (default: the container's host
#            name), for containers on the same network (a network alias such as `kafka`);
#   EXTERNAL 0.0.0.0:$KAFKA_EXTERNAL_PORT (default 9093), advertised as
#            $KAFKA_EXTERNAL_HOST:$KAFKA_EXTERNAL_PORT (default 127.0.0.1), for the host: publish
#            that port on the same host port, since the broker must advertise the address clients use.
# The broker's own traffic (transaction markers) uses a loopback listener, so it never depends on
# a network alias resolving inside the container.
set -eu
# No globbing: the class path is the JVM's own wildcard (libs/*), not the shell's.
set -f
network_host="${KAFKA_NETWORK_HOST:-$(hostname)}"
external_host="${KAFKA_EXTERNAL_HOST:-127.0.0.1}"
external_port="${KAFKA_EXTERNAL_PORT:-9093}"
data=/var/lib/kafka/data
props=/var/lib/kafka/server.properties
cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9094
listeners=BROKER://0.0.0.0:9092,EXTERNAL://0.0.0.0:${external_port},INTERNAL://127.0.0.1:9095,CONTROLLER://127.0.0.1:9094
advertised.listeners=BROKER://${network_host}:9092,EXTERNAL://${external_host}:${external_port},INTERNAL://127.0.0.1:9095
controller.listener.names=CONTROLLER
listener.security.protocol.map=BROKER:PLAINTEXT,EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=INTERNAL
log.dirs=${data}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
num.partitions=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
PROPS
jvm="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m} -Djava.awt.headless=true -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties -cp /opt/kafka/libs/*"
if [ ! -f "$data/meta.properties" ]; then
  # shellcheck disable=SC2086
  java $jvm kafka.tools.StorageTool format -t "$(java $jvm kafka.tools.StorageTool random-uuid)" -c "$props" >/dev/null
fi
# shellcheck disable=SC2086
exec java $jvm kafka.Kafka "$props"
