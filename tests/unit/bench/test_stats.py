import pytest

from bench.stats import median, percentile


def test_median_of_even_count_is_mean_of_middle_two():
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_median_of_odd_count_is_middle_value():
    assert median([9.0, 1.0, 5.0]) == 5.0


def test_p95_of_twenty_interpolates_between_the_top_two():
    samples = [float(n) for n in range(1, 21)]
    assert percentile(samples, 95) == pytest.approx(19.05)


def test_extremes_are_min_and_max():
    samples = [3.0, 7.0, 5.0]
    assert percentile(samples, 0) == 3.0
    assert percentile(samples, 100) == 7.0


def test_single_sample_is_every_percentile():
    assert percentile([42.0], 95) == 42.0


@pytest.mark.parametrize("samples, p", [([], 50), ([1.0], 101), ([1.0], -1)])
def test_bad_input_is_refused(samples, p):
    with pytest.raises(ValueError):
        percentile(samples, p)
