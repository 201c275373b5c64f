#!/bin/bash
# Runs once in the storage-node VM when tests/compose/image.py builds the Docker variant (the
# packages are already installed, on the host): starts Docker and imports the containers'
# root filesystem, handed over on /mnt/src, under the image names docker-compose.yml uses;
# then stops Docker cleanly so the image is flattened with a consistent /var/lib/docker.
set -euo pipefail
log() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }
log "starting Docker"
bash /mnt/src/start-docker.sh
log "docker import of $(du -h /mnt/src/rootfs.tar | cut -f1)"
# The cinderblock image's runtime settings are the Dockerfile's cinderblock stage's.
docker import \
  -c 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/cinderblock-service"]' \
  -c 'CMD ["api"]' -c 'ENV CINDERBLOCK_PYTHON=/opt/cinderblock/venv/bin/python' \
  -c 'ENV PYTHONDONTWRITEBYTECODE=1' -c 'ENV PYTHONUNBUFFERED=1' \
  -c 'WORKDIR /var/lib/cinderblock' /mnt/src/rootfs.tar cinderblock:latest
docker tag cinderblock:latest mariadb:10.11
docker tag cinderblock:latest rabbitmq:3.12
docker images
log "stopping Docker"
kill "$(pidof dockerd)"
while pidof dockerd >/dev/null; do sleep 0.2; done
kill "$(pidof containerd)"
while pidof containerd >/dev/null; do sleep 0.2; done
sync
log "imported"
