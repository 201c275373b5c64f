#!/bin/bash
# Stand-in, in the compose test only, for the official mariadb image's entrypoint (its image
# cannot be pulled here): on an empty data directory, makes MARIADB_DATABASE and
# MARIADB_USER/MARIADB_PASSWORD and runs /docker-entrypoint-initdb.d/*.sql, as that image
# does; then runs Debian's MariaDB with the compose file's arguments.
set -euo pipefail
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld /var/lib/mysql
if [[ ! -e /var/lib/mysql/.compose-initialised ]]; then
  [[ -d /var/lib/mysql/mysql ]] || mariadb-install-db --user=mysql --skip-test-db >/dev/null
  mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
  for _ in $(seq 300); do mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1 && break; sleep 0.5; done
  {
    echo "DROP USER IF EXISTS ''@'localhost';"
    echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
    echo "CREATE USER IF NOT EXISTS '$MARIADB_USER'@'%' IDENTIFIED BY '$MARIADB_PASSWORD';"
    echo "GRANT ALL PRIVILEGES ON \`$MARIADB_DATABASE\`.* TO '$MARIADB_USER'@'%';"
    cat /docker-entrypoint-initdb.d/*.sql 2>/dev/null || true
  } | mariadb --socket=/run/mysqld/init.sock
  mariadb-admin --socket=/run/mysqld/init.sock shutdown
  wait
  touch /var/lib/mysql/.compose-initialised
fi
exec mariadbd --user=mysql --innodb-buffer-pool-size=32M "$@"
