# One image for every cinderblock service (the compose file picks the service by its
# command), plus a `keystone` stage for the compose file's identity service.
#   docker build -t cinderblock .                    # api, scheduler, volume, db-sync
#   docker build -t cinderblock-keystone --target keystone .
# Services start through /usr/bin/cinderblock-service, the same script the systemd units
# and `make up` use.
FROM debian:bookworm-slim AS base
ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

FROM base AS keystone
RUN python3 -m venv /opt/keystone \
 && /opt/keystone/bin/pip install --no-cache-dir keystone==30.0.0 gunicorn==23.0.0 pymysql \
 && mkdir -p /etc/keystone
COPY tests/keystone/wsgi_app.py /opt/keystone/wsgi_app.py
COPY etc/compose/keystone.sh /usr/bin/keystone-compose
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/keystone-compose"]

FROM base AS cinderblock
# The storage side: LVM2 (thin pools too) and LIO through Debian's rtslib-fb; the venv
# sees the system site-packages so it uses that rtslib-fb. LVM in a container has no
# udev: it must not wait for udev or ask it for devices (as in the storage-node VM). Its
# device filter accepts loop devices and sd/vd/xvd/nvme disks; mount your own
# lvmlocal.conf over it when the PVs of cinder-volumes are elsewhere (md, multipath).
RUN apt-get update \
 && apt-get install -y --no-install-recommends lvm2 thin-provisioning-tools kmod \
      python3-rtslib-fb \
 && rm -rf /var/lib/apt/lists/*
COPY tests/storage_vm/guest/lvmlocal.conf /etc/lvm/lvmlocal.conf
RUN sed -i 's#^\(\s*global_filter\).*#\1 = [ "a|^/dev/loop[0-9]+$|", "a|^/dev/[svx]d[a-z]+[0-9]*$|", "a|^/dev/nvme.*|", "r|.*|" ]#' \
      /etc/lvm/lvmlocal.conf
WORKDIR /opt/cinderblock/src
COPY pyproject.toml README.md ./
COPY api api
COPY common common
COPY db db
COPY migrations migrations
COPY scheduler scheduler
COPY volume_agent volume_agent
RUN python3 -m venv --system-site-packages /opt/cinderblock/venv \
 && /opt/cinderblock/venv/bin/pip install --no-cache-dir . \
 && useradd --system --home-dir /var/lib/cinderblock --create-home cinderblock
COPY etc/cinderblock-service /usr/bin/cinderblock-service
COPY etc/compose/make-vg.sh /usr/bin/cinderblock-make-vg
COPY etc/cinderblock/cinderblock.conf.sample /etc/cinderblock/cinderblock.conf.sample
ENV CINDERBLOCK_PYTHON=/opt/cinderblock/venv/bin/python
WORKDIR /var/lib/cinderblock
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/cinderblock-service"]
CMD ["api"]
