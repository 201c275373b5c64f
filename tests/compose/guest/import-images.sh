#!/bin/bash
# Runs once in the storage-node VM when tests/compose/image.py builds the Docker variant:
# installs the .deb files handed over on /mnt/src/debs (no network, no apt lists in the
# guest), starts Docker and imports the containers' root filesystem under the image names
# docker-compose.yml uses. Nothing may start a service from a package's postinst.
set -euo pipefail
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
dpkg -i /mnt/src/debs/*.deb >/var/log/docker-debs.log 2>&1 || { tail -n 40 /var/log/docker-debs.log >&2; exit 1; }
rm -f /usr/sbin/policy-rc.d
bash /mnt/src/start-docker.sh
# The cinderblock image's runtime settings are the Dockerfile's cinderblock stage's.
docker import \
  -c 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/cinderblock-service"]' \
  -c 'CMD ["api"]' -c 'ENV CINDERBLOCK_PYTHON=/opt/cinderblock/venv/bin/python' \
  -c 'ENV PYTHONDONTWRITEBYTECODE=1' -c 'ENV PYTHONUNBUFFERED=1' \
  -c 'WORKDIR /var/lib/cinderblock' /mnt/src/rootfs.tar cinderblock:latest
docker tag cinderblock:latest mariadb:10.11
docker tag cinderblock:latest rabbitmq:3.12
docker images
kill "$(pidof dockerd)"
while pidof dockerd >/dev/null; do sleep 0.2; done
kill "$(pidof containerd)"
while pidof containerd >/dev/null; do sleep 0.2; done
sync
