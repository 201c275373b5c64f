from bench.report import Figure, advantage, format_table, format_value


def _figure(lower_is_better, cinder, cinderblock):
    return Figure("k", "a figure", "ms", lower_is_better,
                  {"Cinder": cinder, "cinderblock": cinderblock})


def test_advantage_of_a_time_is_baseline_over_candidate():
    assert advantage(_figure(True, 200.0, 20.0), "Cinder", "cinderblock") == 10.0


def test_advantage_of_a_rate_is_candidate_over_baseline():
    assert advantage(_figure(False, 4.0, 60.0), "Cinder", "cinderblock") == 15.0


def test_advantage_is_none_when_a_side_is_missing_or_zero():
    assert advantage(_figure(True, 200.0, None), "Cinder", "cinderblock") is None
    assert advantage(_figure(True, 200.0, 0.0), "Cinder", "cinderblock") is None


def test_values_keep_three_significant_figures_without_exponents():
    assert format_value(1321.4) == "1,321"
    assert format_value(34.56) == "34.6"
    assert format_value(0.4567) == "0.46"
    assert format_value(None) == "n/a"


def test_table_has_a_row_per_figure_with_ratio_and_n_a():
    table = format_table([_figure(True, 200.0, 20.0), _figure(False, 4.0, None)],
                         "Cinder", "cinderblock")
    lines = table.splitlines()
    assert lines[0].split() == ["figure", "unit", "Cinder", "cinderblock", "cinderblock",
                                "advantage"]
    assert set(lines[1]) == {"-", " "}
    assert lines[2].split()[-3:] == ["200", "20.0", "10.0x"]
    assert lines[3].split()[-3:] == ["4.00", "n/a", "n/a"]


def test_as_dict_carries_the_advantage_for_the_json_file():
    data = _figure(True, 100.0, 25.0).as_dict("Cinder", "cinderblock")
    assert data["advantage"] == 4.0
    assert data["values"] == {"Cinder": 100.0, "cinderblock": 25.0}
