"""Keystone's WSGI application, loadable by gunicorn.

Keystone parses ``sys.argv`` as its own command line when the application is built;
under gunicorn that holds gunicorn's options and Keystone exits. The program name
alone lets it start, with its files named by ``OS_KEYSTONE_CONFIG_FILES``.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.server.wsgi import initialize_public_application  # noqa: E402

application = initialize_public_application()
