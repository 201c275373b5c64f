#!/bin/bash
# The compose file's Keystone: MariaDB-backed, fernet tokens, bootstrapped once with the
# admin user and the identity endpoint, served by gunicorn on port 5000. The cinder
# service user and the volumev3 endpoints are the install guide's `openstack user
# create` / `endpoint create` steps, run against it once it is up.
#   KEYSTONE_DB_URL, KEYSTONE_ADMIN_PASSWORD, KEYSTONE_PUBLIC_URL (http://HOST:5000/v3)
set -euo pipefail
conf=/etc/keystone/keystone.conf
cat >"$conf" <<CONF
[database]
connection = ${KEYSTONE_DB_URL}
[token]
provider = fernet
CONF
manage() { /opt/keystone/bin/keystone-manage --config-file "$conf" "$@"; }
manage db_sync
manage fernet_setup --keystone-user root --keystone-group root
manage credential_setup --keystone-user root --keystone-group root
manage bootstrap --bootstrap-password "$KEYSTONE_ADMIN_PASSWORD" \
  --bootstrap-admin-url "$KEYSTONE_PUBLIC_URL" --bootstrap-public-url "$KEYSTONE_PUBLIC_URL" \
  --bootstrap-internal-url "$KEYSTONE_PUBLIC_URL" --bootstrap-region-id RegionOne
export OS_KEYSTONE_CONFIG_FILES=$conf
exec /opt/keystone/bin/gunicorn --chdir /opt/keystone --bind 0.0.0.0:5000 --workers 2 wsgi_app:application
