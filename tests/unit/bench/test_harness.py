import re
from types import SimpleNamespace

from bench.harness import Harness, project_id


def test_project_ids_are_32_hex_digits_as_cinder_noauth_requires():
    for figure in ("sequential", "concurrent200", "listing", "a"):
        assert re.fullmatch(r"[0-9a-f]{32}", project_id(figure))


def test_each_figure_gets_its_own_project():
    assert len({project_id(f) for f in ("sequential", "concurrent50", "concurrent200")}) == 3


def test_turns_alternate_which_system_goes_first():
    cinder, cinderblock = SimpleNamespace(name="Cinder"), SimpleNamespace(name="cinderblock")
    harness = Harness([cinder, cinderblock])
    assert [s.name for s in harness.turns(0)] == ["Cinder", "cinderblock"]
    assert [s.name for s in harness.turns(1)] == ["cinderblock", "Cinder"]
    assert [s.name for s in harness.turns(2)] == ["Cinder", "cinderblock"]


def test_a_failed_measurement_is_recorded_and_returns_none():
    from bench.client import ApiError

    system = SimpleNamespace(name="cinderblock")
    harness = Harness([system])

    def broken():
        raise ApiError("POST /attachments: 500")

    assert harness.guarded(system, "attach", broken) is None
    assert harness.errors["cinderblock"] == ["attach: ApiError: POST /attachments: 500"]
