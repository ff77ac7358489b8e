"""What ``nfw-blocklist release`` tells the operator (the command's text output)."""

import pytest

from nfw_blocklist.commands import release


def test_a_release_of_a_finding_that_holds_no_host_says_so_instead_of_reading_as_done(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A mistyped id released nothing and printed "unblocked nothing", read as a finding dealt with."""
    release._show({"finding": "1234680e-typo", "released": [], "kept": [], "until": "2026-12-08T06:00:00Z"})

    out = capsys.readouterr().out
    assert "holds no host" in out and "nfw-blocklist list" in out


def test_a_release_names_what_it_unblocked_and_what_stays(capsys: pytest.CaptureFixture[str]) -> None:
    release._show(
        {"finding": "f", "released": ["198.51.100.1/32"], "kept": ["198.51.100.2/32"], "until": "later"}
    )

    out = capsys.readouterr().out
    assert (
        "unblocked 198.51.100.1/32" in out and "held by another finding" in out and "holds no host" not in out
    )
