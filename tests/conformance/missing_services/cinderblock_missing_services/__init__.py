"""Lets Tempest 47 set up and clean up volume test classes without glance or a network
service. No test is skipped or changed here; tests that need images or servers are
skipped by Tempest itself.

Glance off: ``BaseVolumeTest.setup_clients`` defines ``images_client`` only when
glance is available, yet ``VolumesGetTest`` and ``VolumesNegativeTest`` read it in
their own ``setup_clients``, so the whole class errors before any test runs. We give
them the images client, made as Tempest makes it with glance on (its first call would
fail: the catalog has no image service).

No network service: volume classes that only create a default network for server tests
(volume actions, snapshots) skip unless ``[service_available] neutron = True``; with
that and ``[auth] create_isolated_networks = False`` they run, but Tempest's credential
cleanup then asks the network service for the project's default security group. With
no network endpoint in the catalog no such group can exist, so there is nothing to
clean up.
"""

import contextlib
import os

from tempest.test_discover import plugins


def _define_images_client() -> None:
    from tempest import config
    from tempest.api.volume import base

    original = base.BaseVolumeTest.setup_clients.__func__

    def setup_clients(cls):
        original(cls)
        if not config.CONF.service_available.glance:
            cls.images_client = cls.os_primary.image_v2.ImagesClient()

    base.BaseVolumeTest.setup_clients = classmethod(setup_clients)


def _tolerate_missing_network_endpoint() -> None:
    from tempest.lib import exceptions
    from tempest.lib.common import cred_provider

    original = cred_provider.CredentialProvider.cleanup_default_secgroup

    def cleanup_default_secgroup(self, security_group_client, tenant):
        with contextlib.suppress(exceptions.EndpointNotFound):
            original(self, security_group_client, tenant)

    cred_provider.CredentialProvider.cleanup_default_secgroup = cleanup_default_secgroup


class MissingServicesPlugin(plugins.TempestPlugin):
    def load_tests(self):
        # This package holds no tests; discovery finds nothing here.
        here = os.path.dirname(os.path.abspath(__file__))
        return here, os.path.dirname(here)

    def register_opts(self, conf):
        _define_images_client()
        _tolerate_missing_network_endpoint()

    def get_opt_lists(self):
        return []
