"""ENTSO-E day-ahead prices: the A44 document (hourly on a DST day, 15-minute days), the
import command, and the fetch with the platform replaced by a function (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from evcharge.cli import app as cli
from evcharge.prices.entsoe import EntsoeError, fetch_day_ahead, parse_a44
from evcharge.prices.files import PriceFileError, read_price_file
from tests.commandline import environment, run

DATA = Path(__file__).parent / "data"
DST_DAY = DATA / "entsoe_be_2024-03-31_dst.xml"
QUARTER_DAY = DATA / "entsoe_be_2025-10-02_15min.xml"
REFUSED = DATA / "entsoe_acknowledgement.xml"
# The real Belgian day-ahead prices of 31 March 2024 (EUR/kWh), the day summer time began.
BE_2024_03_31 = [
    "0.08433", "0.07683", "0.05268", "0.06236", "0.05937", "0.06592", "0.07000", "0.07000",
    "0.04934", "0.03607", "0.02849", "0.01949", "0.00299", "0.00100", "0.01321", "0.03413",
    "0.05404", "0.06336", "0.09298", "0.07084", "0.04701", "0.04370", "0.05029",
]  # fmt: skip


def test_an_hourly_document_on_the_day_summer_time_begins_has_23_slots() -> None:
    prices = parse_a44(DST_DAY.read_bytes())
    assert prices.currency == "EUR"
    assert len(prices.slots) == 23
    assert prices.slots[0].start == datetime(2024, 3, 30, 23, tzinfo=UTC)
    assert prices.slots[-1].end == datetime(2024, 3, 31, 22, tzinfo=UTC)
    assert [s.price_per_kwh for s in prices.slots] == [Decimal(p) for p in BE_2024_03_31]
    # Position 8 is left out of the document (curve A03): it repeats position 7.
    assert "<position>8</position>" not in DST_DAY.read_text()
    assert all(a.end == b.start for a, b in zip(prices.slots, prices.slots[1:], strict=False))


def test_a_15_minute_document_wins_over_the_hourly_series_of_the_same_day() -> None:
    prices = parse_a44(QUARTER_DAY.read_bytes())
    assert len(prices.slots) == 96
    assert {s.end - s.start for s in prices.slots} == {timedelta(minutes=15)}
    assert prices.slots[0].start == datetime(2025, 10, 1, 22, tzinfo=UTC)
    assert prices.slots[-1].end == datetime(2025, 10, 2, 22, tzinfo=UTC)
    assert Decimal("0.1") not in {s.price_per_kwh for s in prices.slots}  # the hourly 100.00
    # Positions 11 and 12 are omitted: both repeat position 10.
    assert prices.slots[10].price_per_kwh == prices.slots[9].price_per_kwh
    assert prices.slots[11].price_per_kwh == prices.slots[9].price_per_kwh


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (REFUSED.read_bytes(), "No matching data found"),
        (b"<not xml", "not XML"),
        (b"<Other_MarketDocument/>", "Publication_MarketDocument"),
        (
            DST_DAY.read_bytes().replace(b"PT60M", b"P1D"),
            "resolution 'P1D' is not supported",
        ),
        (
            DST_DAY.read_bytes().replace(b"<position>23</position>", b"<position>24</position>"),
            "outside 1..23",
        ),
        (
            DST_DAY.read_bytes().replace(b"<type>A44</type>", b"<type>A65</type>"),
            "not A44",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
            "not XML",
        ),
    ],
)
def test_documents_that_are_not_usable_price_documents_say_why(
    document: bytes, problem: str
) -> None:
    with pytest.raises(EntsoeError, match=problem):
        parse_a44(document)


def test_a_price_file_in_xml_becomes_an_upload_in_eur_per_kwh() -> None:
    body = read_price_file(DST_DAY, None)
    assert body.currency == "EUR"
    assert body.slots[0].price == Decimal("0.08433")
    with pytest.raises(PriceFileError, match="No matching data"):
        read_price_file(REFUSED, None)


def test_fetch_asks_for_the_bidding_zone_and_reads_the_answer() -> None:
    asked: list[str] = []

    def platform(url: str) -> bytes:
        asked.append(url)
        return QUARTER_DAY.read_bytes()

    start = datetime(2025, 10, 1, 22, tzinfo=UTC)
    prices = fetch_day_ahead("secret", "be", start, start + timedelta(days=1), get=platform)
    assert len(prices.slots) == 96
    query = parse_qs(urlparse(asked[0]).query)
    assert query["documentType"] == ["A44"]
    assert query["in_Domain"] == query["out_Domain"] == ["10YBE----------2"]
    assert query["periodStart"] == ["202510012200"]
    assert query["periodEnd"] == ["202510022200"]
    assert query["securityToken"] == ["secret"]
    with pytest.raises(EntsoeError, match="bidding zone"):
        fetch_day_ahead("secret", "XX", start, start, get=platform)
    with pytest.raises(EntsoeError, match="EVCHARGE_ENTSOE_TOKEN"):
        fetch_day_ahead("", "BE", start, start, get=platform)


def test_prices_import_reads_entsoe_xml_and_fetch_needs_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(tmp_path)
    assert run("db", "upgrade", env=env).returncode == 0
    for name in [k for k in list(__import__("os").environ) if k.startswith("EVCHARGE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EVCHARGE_DATABASE_URL", env["EVCHARGE_DATABASE_URL"])
    runner = CliRunner()
    imported = runner.invoke(cli, ["prices", "import", str(QUARTER_DAY), "--area", "be"])
    assert imported.exit_code == 0, imported.output
    assert "BE: 96 slots stored (2025-10-01 22:00 – 2025-10-02 22:00 UTC)" in imported.output
    refused = runner.invoke(cli, ["prices", "import", str(REFUSED), "--area", "be"])
    assert refused.exit_code == 1
    assert "No matching data found" in refused.output
    no_token = runner.invoke(cli, ["prices", "fetch", "--area", "BE"])
    assert no_token.exit_code == 2
    assert "EVCHARGE_ENTSOE_TOKEN" in no_token.output
