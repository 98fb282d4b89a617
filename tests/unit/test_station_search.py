"""The index's search (issue 12: haversine in multiplications, exact distance for the page
only) answers exactly as the exact haversine of every station: nearest first, ties by id,
the radius inclusive by the exact distance, every page, across the antimeridian."""

from __future__ import annotations

import random

import pytest

from app.drivers.station_index import Grid, cell_of, entry_of, search
from app.drivers.station_info import bounding_box, haversine_m


def _grid(points: list[tuple[int, float, float]]) -> Grid:
    grid: Grid = {}
    for sid, lat, lng in points:
        grid.setdefault(cell_of(lat), {}).setdefault(cell_of(lng), []).append(
            entry_of(sid, lat, lng)
        )
    return grid


def _reference(
    points: list[tuple[int, float, float]], lat: float, lng: float, radius: int
) -> list[tuple[int, int]]:
    hits = []
    for sid, la, ln in points:
        d = haversine_m(lat, lng, la, ln)
        if d <= radius:
            hits.append((round(d), sid))
    return sorted(hits)


@pytest.mark.parametrize(
    ("centre", "spread", "radius"),
    [((22.5431, 114.0579), 0.3, 5000), ((22.5431, 114.0579), 0.3, 20000),
     ((0.0, 179.99), 0.05, 3000), ((60.0, 10.0), 0.02, 800)],
)  # fmt: skip
def test_search_orders_and_counts_as_the_exact_haversine(
    centre: tuple[float, float], spread: float, radius: int
) -> None:
    rng = random.Random(f"{centre}{radius}")
    lat0, lng0 = centre
    points = []
    for sid in range(1, 3001):
        lng = lng0 + rng.uniform(-spread, spread)
        lng = (lng + 180) % 360 - 180  # across the antimeridian
        points.append((sid, lat0 + rng.uniform(-spread, spread), lng))
    # stations at one spot: tied distances that the id orders
    points += [(5000 + k, lat0 + 0.001, lng0) for k in range(30)]
    grid = _grid(points)
    expected = _reference(points, lat0, lng0, radius)
    box = bounding_box(lat0, lng0, radius)
    for page_size in (1, 20, 100):
        for page in range(1, len(expected) // page_size + 3):
            chosen, total = search(grid, lat0, lng0, radius, box, page, page_size)
            assert total == len(expected)
            assert chosen == expected[(page - 1) * page_size : page * page_size]
            if page > 6:
                break


def test_a_station_exactly_at_the_radius_is_in_and_one_metre_past_it_is_out() -> None:
    points = [(1, 22.5, 114.0), (2, 22.5 + 1000 / 111_195.08, 114.0)]
    radius = round(haversine_m(22.5, 114.0, points[1][1], 114.0))
    for r, ids in ((radius + 1, [1, 2]), (radius - 1, [1])):
        chosen, total = search(_grid(points), 22.5, 114.0, r, bounding_box(22.5, 114.0, r), 1, 20)
        assert [sid for _, sid in chosen] == ids and total == len(ids)
