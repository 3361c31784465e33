"""The one way the page writes a number with its spread: digits set by the spread."""

import math

import numpy as np
import pytest

from bptt.report import intervals


@pytest.mark.parametrize(
    "value, low, high, text",
    [
        (0.98412, 0.96213, 1.00731, "0.984 [0.962, 1.007]"),  # width 0.045: three decimals
        (0.98412, 0.9, 1.3, "0.98 [0.90, 1.30]"),  # width 0.4: two
        (0.5, 0.5, 0.5, "0.5000 (no spread at these digits)"),  # every seed the same: four significant digits
        (1.0 + 2e-16, 1.0 + 2e-16, 1.0 + 4e-16, "1.000 (no spread at these digits)"),  # rounding is no spread
        (12.3456, 10.0, 17.0, "12.3 [10.0, 17.0]"),
        (-0.61, -0.93, -0.05, "−0.61 [−0.93, −0.05]"),
        (math.nan, 0.0, 1.0, "not measurable"),
    ],
)
def test_bracket_prints_the_digits_the_spread_supports(value, low, high, text):
    assert intervals.bracket(value, low, high) == text


def test_decades_sets_the_mantissa_by_the_spread_in_decades():
    # A spread of two decades: one significant digit of the mantissa.
    assert intervals.decades(np.log10(6.9e-21), np.log10(1.2e-22), np.log10(3.1e-19)) == (
        "7 × 10⁻²¹ [1 × 10⁻²², 3 × 10⁻¹⁹]"
    )
    # A spread of 0.05 decades: two.
    assert intervals.decades(np.log10(6.9e-21), np.log10(6.5e-21), np.log10(7.3e-21)) == (
        "6.9 × 10⁻²¹ [6.5 × 10⁻²¹, 7.3 × 10⁻²¹]"
    )
    # One seed's gradient exactly zero: the spread has no end, one digit.
    assert intervals.decades(-3.0, -math.inf, -2.5) == "1 × 10⁻³ [exactly zero, 3 × 10⁻³]"


@pytest.mark.parametrize(
    "value, text",
    [
        (np.log10(3.2e-4), "3.2 × 10⁻⁴"),
        (np.log10(0.25), "0.25"),
        (12.0, "1.0 × 10¹²"),
        (np.log10(9.99e-5), "1.0 × 10⁻⁴"),
    ],
)
def test_power_of_ten_default_keeps_two_digits(value, text):
    assert intervals.power_of_ten(value) == text


def test_decades_keeps_trailing_zeros_and_plain_numbers_between_a_hundredth_and_a_thousand():
    assert intervals.decades(np.log10(0.76), np.log10(0.69), np.log10(0.80)) == "0.76 [0.69, 0.80]"
    assert intervals.decades(2.0, 1.9, 2.5) == "100 [80, 300]"
