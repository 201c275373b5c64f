"""How a Tempest run is judged: known failures, new ones, and the printed summary."""

from __future__ import annotations

from tests.conformance.run import Outcome, fixed, new_failures, read_known, summarize

VOLUMES = "tempest.api.volume.test_volumes_list.VolumesListTestJSON"


def outcomes() -> list[Outcome]:
    return [
        Outcome(f"{VOLUMES}.test_a[id-1,smoke]", "success", ""),
        Outcome(f"{VOLUMES}.test_b[id-2]", "fail",
                "Traceback (most recent call last):\n  File \"x.py\"\n"
                "tempest.lib.exceptions.NotFound: Object not found\n"
                "Details: {'code': 404}\n"),
        Outcome(f"{VOLUMES}.test_c[id-3]", "skip", "Glance service is disabled"),
        Outcome(f"{VOLUMES}.test_d[id-4]", "skip", "Glance service is disabled"),
    ]


def test_known_failures_file_names_tests_with_causes(tmp_path):
    path = tmp_path / "known.txt"
    path.write_text(f"# groups are not served\n\n{VOLUMES}.test_b  # no groups API\n")
    assert read_known(path) == {f"{VOLUMES}.test_b": "no groups API"}


def test_only_unlisted_failures_are_new_and_listed_passes_are_reported():
    assert new_failures(outcomes(), {}) == [f"{VOLUMES}.test_b"]
    assert new_failures(outcomes(), {f"{VOLUMES}.test_b": "cause"}) == []
    assert fixed(outcomes(), {f"{VOLUMES}.test_a": "was broken"}) == [f"{VOLUMES}.test_a"]


def test_summary_counts_names_failure_causes_and_groups_skips():
    text = summarize(outcomes())
    assert text.startswith("passed 1  failed 1  skipped 2  (of 4)")
    assert "tempest.lib.exceptions.NotFound: Object not found / Details: {'code': 404}" in text
    assert "   2  Glance service is disabled" in text
