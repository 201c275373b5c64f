-- Run once by the MariaDB image on an empty data directory: Keystone's database, for
-- etc/compose/keystone.yml (cinder's own is made from MARIADB_DATABASE/USER).
CREATE DATABASE IF NOT EXISTS keystone;
GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'%' IDENTIFIED BY 'keystone';
