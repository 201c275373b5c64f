#!/bin/bash
# Stand-in, in the compose test only, for the official rabbitmq image's entrypoint: the
# default user from RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS, reachable beyond loopback,
# logging to the console (Debian's logs to files, which `docker-compose logs` never shows),
# then Debian's RabbitMQ in the foreground.
set -euo pipefail
mkdir -p /etc/rabbitmq
cat >/etc/rabbitmq/rabbitmq.conf <<CONF
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
loopback_users = none
listeners.tcp.default = 5672
log.console = true
log.file = false
CONF
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
exec rabbitmq-server
