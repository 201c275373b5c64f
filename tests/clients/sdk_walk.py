"""A volume's life through openstacksdk's ``block_storage`` proxy, as a user script.

Runs with the clients' venv Python after ``source openrc`` (``openstack.connect()``
reads the ``OS_*`` variables), prints what it saw as JSON for the test to judge.
"""

import json
import sys

import openstack


def main() -> None:
    storage = openstack.connect().block_storage
    volume = storage.create_volume(size=1, name=sys.argv[1])
    volume = storage.wait_for_status(volume, "available", failures=["error"], wait=60)
    listed = [v.id for v in storage.volumes()]
    storage.extend_volume(volume, 2)
    extended = storage.wait_for_status(storage.get_volume(volume.id), "available",
                                       failures=["error", "error_extending"], wait=60)
    storage.delete_volume(volume)
    storage.wait_for_delete(volume, wait=60)
    print(json.dumps({"id": volume.id, "name": volume.name, "listed": listed,
                      "extended_size": extended.size,
                      "after_delete": [v.id for v in storage.volumes()]}))


if __name__ == "__main__":
    main()
