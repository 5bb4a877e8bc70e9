"""Maps (issue 21) in Chromium: map fields in the form, geo results on maps.

A lab of its own serves the ``geo`` example backend (jupyter_rpc/examples/geo.py): a
point, a polygon and a box in; a Feature, a FeatureCollection and a raster out. The
base map is the bundled world outline, and the page may reach nothing but the lab.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LabServer, open_lab, start_lab
from helpers import choose, field, field_errors, open_panel, run, status
from playwright.sync_api import Locator, Page, expect

FILL = (0xE8, 0x59, 0x0C)  # src/maps/leafletmap.ts FEATURE_COLOR


@pytest.fixture(scope="module")
def maps_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = Path(tmp_path_factory.mktemp("maps-lab"))
    config = {
        "RPCApp": {
            "backends": {
                "geo": {"module": "jupyter_rpc.examples.geo", "display_name": "Places"},
            },
            "state_dir": str(base / "state"),
        }
    }
    with start_lab(base, config) as server:
        yield server


def only_hosts(page: Page, *origins: str) -> list[str]:
    """Refuse every request of ``page`` but to ``origins`` (and data:, blob:); the list
    of the URLs refused, filled as they come."""
    outside: list[str] = []

    def route_it(route) -> None:  # noqa: ANN001 - Playwright's Route
        url = route.request.url
        if url.startswith((*origins, "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", route_it)
    return outside


@pytest.fixture
def maps(page: Page, maps_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """The lab, with every request to another host refused (no network)."""
    outside = only_hosts(page, maps_lab.url)
    yield from open_lab(page, maps_lab, request)
    assert not outside, f"the page asked other servers: {outside[:5]}"


def geo_field(call: Locator, name: str) -> Locator:
    return call.locator(f".jp-rpc-GeoField:has(#jp-rpc-arg_{name})")


def map_of(container: Locator) -> Locator:
    m = container.locator(".leaflet-container").first
    expect(m).to_be_visible()
    # The outline is drawn once the map module loaded and the base canvas exists.
    expect(m.locator(".leaflet-jp-rpc-base-pane canvas")).to_have_count(1)
    return m


def click_lonlat(page: Page, m: Locator, lon: float, lat: float, scroll: bool = True) -> None:
    """Click the map at a longitude/latitude (Leaflet's own projection, in the page)."""
    x, y = screen_xy(m, lon, lat, scroll)
    page.mouse.click(x, y)


def screen_xy(m: Locator, lon: float, lat: float, scroll: bool = True) -> tuple[float, float]:
    if scroll:
        m.evaluate("node => node.scrollIntoView({block: 'center'})")
    point = m.evaluate(
        """(node, [lon, lat]) => {
            const map = node.jpRpcMap;
            const p = map.latLngToContainerPoint([lat, lon]);
            const r = node.getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lon, lat],
    )
    return point[0], point[1]


def test_a_click_on_the_map_sets_the_point(maps: Page) -> None:
    panel = open_panel(maps)
    call = choose(panel, "nearest_station")
    box = geo_field(call, "point")
    m = map_of(box)
    # As the form opens, the map is partly below the panel's fold: the click must
    # land where it was pressed all the same (the page must not scroll in between).
    click_lonlat(maps, m, 10.0, 53.5, scroll=False)
    text = field(call, "point")
    expect(text).not_to_have_value("")
    value = json.loads(text.input_value())
    assert value["type"] == "Point"
    lon, lat = value["coordinates"]
    tol = pixel_degrees(m)
    assert abs(lon - 10.0) <= tol and abs(lat - 53.5) <= tol, (value, tol)


def pixel_degrees(m: Locator) -> float:
    """How many degrees one screen pixel spans at the map's zoom (longitude; latitude is less)."""
    return m.evaluate("node => 360 / (256 * 2 ** node.jpRpcMap.getZoom())") * 1.5


MAIN = "#jp-main-dock-panel"


def result_view(page: Page, function: str) -> Locator:
    """The main-area result tab of the last call of ``function``."""
    return page.locator(f'{MAIN} .jp-rpc-ResultView[data-function="{function}"]').last


def result_map(page: Page, function: str) -> Locator:
    view = result_view(page, function)
    expect(view.locator(".jp-rpc-MapResult")).to_be_visible(timeout=30_000)
    expect(view.locator(".jp-rpc-MapResult[data-drawn-at]")).to_have_count(1, timeout=30_000)
    return map_of(view)


def pixel(page: Page, x: float, y: float) -> tuple[int, int, int]:
    """The colour on screen at a page position (a 1x1 screenshot)."""
    png = page.screenshot(clip={"x": int(x), "y": int(y), "width": 1, "height": 1})
    return decode_png_pixel(png)


def decode_png_pixel(png: bytes) -> tuple[int, int, int]:
    import zlib

    pos, chunks = 8, b""
    width = color_type = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, _h, _depth, color_type = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    raw = zlib.decompress(chunks)
    assert width == 1 and color_type in (2, 6)  # RGB or RGBA, 8 bits
    r, g, b = raw[1 : 1 + 3]  # the row's filter byte, then the one pixel
    return (r, g, b)


def wait_pixel(page: Page, x: float, y: float, want: tuple[int, int, int]) -> None:
    """Wait (up to 5 s) until the screen at (x, y) has the colour ``want``."""
    for _ in range(50):
        if close(pixel(page, x, y), want):
            return
        page.wait_for_timeout(100)
    assert close(pixel(page, x, y), want), (pixel(page, x, y), want)


def viridis(t: float) -> tuple[int, int, int]:
    """matplotlib's viridis at ``t`` (0..1): its 10 stops, linear between (as the map)."""
    stops = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e"]
    stops += ["#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"]
    x = t * (len(stops) - 1)
    i = min(len(stops) - 2, int(x))
    f = x - i

    def rgb(h: str) -> list[int]:
        return [int(h[k : k + 2], 16) for k in (1, 3, 5)]

    a, b = rgb(stops[i]), rgb(stops[i + 1])
    r, g, bl = (round(v + (w - v) * f) for v, w in zip(a, b, strict=True))
    return r, g, bl


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 6) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def blend(fg: tuple[int, int, int], bg: tuple[int, int, int], alpha: float) -> tuple[int, ...]:
    return tuple(round(f * alpha + b * (1 - alpha)) for f, b in zip(fg, bg, strict=True))


def last_call(server: LabServer, function: str) -> dict:
    calls = server.api("jupyter-rpc/calls")["calls"]
    mine = [c for c in calls if c["function"] == function]
    assert mine, calls
    return server.api(f"jupyter-rpc/calls/{mine[0]['id']}")


CORNERS = [(5.0, 45.0), (20.0, 45.0), (12.0, 58.0)]


def test_a_polygon_drawn_by_clicks_reaches_the_backend_and_comes_back_drawn(
    maps: Page, maps_lab: LabServer
) -> None:
    panel = open_panel(maps)
    call = choose(panel, "area_summary")
    box = geo_field(call, "area")
    m = map_of(box)
    m.evaluate("node => node.jpRpcMap.setView([51, 12], 3, {animate: false})")
    for lon, lat in CORNERS:
        click_lonlat(maps, m, lon, lat)
    click_lonlat(maps, m, *CORNERS[0])  # the first corner again closes the ring
    text = field(call, "area")
    expect(text).not_to_have_value("")
    drawn = json.loads(text.input_value())
    assert "coordinates" in drawn, drawn
    ring = drawn["coordinates"][0]
    assert len(ring) == 4 and ring[0] == ring[-1], ring
    tol = pixel_degrees(m)
    for (lon, lat), (x, y) in zip(CORNERS, ring[:3], strict=True):
        assert abs(lon - x) <= tol and abs(lat - y) <= tol, (ring, tol)
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=30_000)
    sent = last_call(maps_lab, "area_summary")
    assert sent["arguments"]["area"] == drawn  # what the backend got is what was drawn
    assert sent["result"]["geometry"]["coordinates"] == drawn["coordinates"], sent

    # The returned polygon on the result's map: its centre has the fill colour over
    # what is under it (read again with the layer switched off).
    rm = result_map(maps, "area_summary")
    cx = sum(p[0] for p in ring[:3]) / 3
    cy = sum(p[1] for p in ring[:3]) / 3
    x, y = screen_xy(rm, cx, cy)
    filled = pixel(maps, x, y)
    toggle = rm.locator(".leaflet-control-layers-overlays input").first
    toggle.uncheck()
    maps.wait_for_timeout(200)
    under = pixel(maps, x, y)
    toggle.check()
    # A click on the polygon shows its properties.
    maps.mouse.click(x, y)
    popup = result_view(maps, "area_summary").locator(".leaflet-popup-content")
    expect(popup).to_contain_text("area_km2")
    expect(popup).to_contain_text("my area")
    assert filled != under
    assert close(filled, blend(FILL, under, 0.35), tol=8), (filled, under)
    # Its properties in the table below the map.
    table = result_view(maps, "area_summary").locator(".jp-rpc-MapResult-table")
    expect(table.locator("thead th")).to_contain_text(["name", "area_km2"])
    expect(table.locator("tbody tr")).to_have_count(1)


def test_a_polygon_typed_with_the_keyboard_only(maps: Page, maps_lab: LabServer) -> None:
    panel = open_panel(maps)
    call = choose(panel, "area_summary")
    map_of(geo_field(call, "area"))
    text = field(call, "area")
    text.focus()
    typed = "[[[1, 40], [3, 40], [3, 42], [1, 40]]]"  # the coordinates are enough
    maps.keyboard.type(typed)
    maps.keyboard.press("Tab")  # on to the next field, as a keyboard user does
    maps.keyboard.press("Control+Enter")
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=30_000)
    sent = last_call(maps_lab, "area_summary")
    assert sent["arguments"]["area"] == {"type": "Polygon", "coordinates": json.loads(typed)}
    # The typed polygon is drawn on the field's map too.
    assert geo_field(call, "area").locator(".leaflet-marker-icon").count() == 3


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("[[[1, 40], [3, 40], [3, 42], [1, 41]]]", "not closed"),
        ('{"type": "Polygon", "coordinates": [[[1, 40], [3, 91], [3, 42], [1, 40]]]}', "91"),
    ],
    ids=["unclosed-ring", "latitude-91"],
)
def test_an_unclosed_ring_or_latitude_91_is_refused_before_sending(
    maps: Page, maps_lab: LabServer, typed: str, words: str
) -> None:
    panel = open_panel(maps)
    call = choose(panel, "area_summary")
    map_of(geo_field(call, "area"))
    before = len(maps_lab.api("jupyter-rpc/calls")["calls"])
    field(call, "area").fill(typed)
    run(call)
    errors = field_errors(call, "area")
    expect(errors).to_contain_text(words)
    if words == "91":
        expect(errors).to_contain_text("latitude is between -90 and 90")
    else:
        expect(errors).to_contain_text("must repeat the first")
    maps.wait_for_timeout(500)
    assert len(maps_lab.api("jupyter-rpc/calls")["calls"]) == before  # nothing sent


def run_stripes(maps: Page) -> None:
    """Run ``raster`` at 40 x 80 cells over the world (4.5 degrees each) until it ended."""
    call = choose(open_panel(maps), "raster")
    field(call, "rows").fill("40")
    field(call, "cols").fill("80")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=30_000)


def test_a_raster_cell_has_its_colour_and_its_value_under_the_cursor(maps: Page) -> None:
    run_stripes(maps)
    rm = result_map(maps, "raster")
    view = result_view(maps, "raster")
    expect(view.locator(".jp-rpc-ColorBar")).to_contain_text("stripes")
    # Row 10 (from the north), column 50 holds (10 + 50) % 256 = 60; 40 x 80 cells over
    # the world: 4.5 degrees each.
    row, col = 10, 50
    lon = -180 + (col + 0.5) * 4.5
    lat = 90 - (row + 0.5) * 4.5
    x, y = screen_xy(rm, lon, lat)
    maps.mouse.move(x, y)
    readout = view.locator(".jp-rpc-RasterReadout")
    expect(readout).to_have_attribute("data-value", "60")
    expect(readout).to_contain_text("60 stripes")
    # Its colour: matplotlib's viridis (10 stops, linear between) at 60/255; the
    # overlay is opaque.
    expected = viridis(60 / 255)
    assert close(pixel(maps, x, y), expected, tol=6), (pixel(maps, x, y), expected)
    # A nodata cell (row == col) is transparent: the base map shows through.
    nx, ny = screen_xy(rm, -180 + 5.5 * 4.5, 90 - 5.5 * 4.5)
    maps.mouse.move(nx, ny)
    expect(readout).to_contain_text("no value")


def set_theme(page: Page, theme: str) -> None:
    """Settings > Theme > ``theme``, as a user picks it."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=theme).first.click()


def test_the_map_in_the_dark_theme(maps: Page) -> None:
    set_theme(maps, "JupyterLab Dark")
    expect(maps.locator("body[data-jp-theme-light='false']")).to_have_count(1, timeout=20_000)
    try:
        panel = open_panel(maps)
        call = choose(panel, "nearest_station")
        m = map_of(geo_field(call, "point"))
        maps.wait_for_timeout(300)
        bg = m.evaluate("node => getComputedStyle(node).backgroundColor")
        assert bg == "rgb(29, 39, 49)", bg  # the dark sea
        text = field(call, "point")
        color = text.evaluate("n => getComputedStyle(n).color")
        back = text.evaluate("n => getComputedStyle(n).backgroundColor")
        assert color != back
        # The land is drawn in the dark land colour.
        x, y = screen_xy(m, 20.0, 5.0)  # central Africa
        assert close(pixel(maps, x, y), (0x3B, 0x40, 0x46), tol=10)
    finally:
        set_theme(maps, "JupyterLab Light")


def test_a_geo_result_displays_as_a_map_in_a_notebook_cell(maps: Page) -> None:
    from helpers import open_notebook

    open_notebook(maps)
    cell = maps.locator(".jp-NotebookPanel .jp-Cell .cm-content").first
    cell.click()
    bundle = {
        "application/geo+json": {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 0]]]},
            "properties": {"name": "a triangle"},
        },
        "text/plain": "<GeoJSON Feature, Polygon>",
    }
    maps.keyboard.type(
        f"from IPython.display import display\ndisplay({json.dumps(bundle)}, raw=True)"
    )
    maps.keyboard.press("Shift+Enter")
    out = maps.locator(".jp-NotebookPanel .jp-OutputArea .jp-rpc-MapResult")
    expect(out).to_be_visible(timeout=60_000)
    expect(out.locator(".leaflet-container")).to_be_visible()
    expect(out.locator(".jp-rpc-MapResult-table")).to_contain_text("a triangle")


def test_ten_thousand_polygons_draw_soon_after_they_arrive(maps: Page) -> None:
    """The figure for the issue: 10,000 polygon features (about 5 MB) drawn on the canvas."""
    panel = open_panel(maps)
    call = choose(panel, "grid_cells")
    field(call, "n").fill("10000")
    run(call)
    view = result_view(maps, "grid_cells")
    node = view.locator(".jp-rpc-MapResult[data-drawn-at]")
    expect(node).to_have_count(1, timeout=60_000)
    drawn = float(node.get_attribute("data-drawn-at") or 0)
    arrived = maps.evaluate(
        """drawn => Math.max(...performance.getEntriesByType('resource')
            .filter(e => /jupyter-rpc\/.*calls/.test(e.name) && e.responseEnd <= drawn)
            .map(e => e.responseEnd))""",
        drawn,
    )
    since = drawn - arrived
    print(
        f"10,000 features drawn {since:.0f} ms after the result arrived "
        f"(the renderer: {node.get_attribute('data-render-ms')} ms)"
    )
    # 1 s on a quiet machine; bounded looser here, where CI and builds share 2 cores.
    assert since < 3000, since
    expect(view.locator(".jp-rpc-MapResult-summary")).to_have_text("10,000 features")
    expect(view.locator(".jp-rpc-MapResult-table tbody tr")).to_have_count(500)
    expect(view.locator(".jp-rpc-MapResult-tableWrap")).to_contain_text("9,500 more features")


def test_add_to_map_layers_results_with_a_toggle_each(maps: Page) -> None:
    panel = open_panel(maps)
    call = choose(panel, "nearest_station")
    field(call, "point").fill("[10, 53.5]")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=30_000)
    result_map(maps, "nearest_station")
    result_view(maps, "nearest_station").get_by_role("button", name="Add to map").click()
    call = choose(panel, "grid_cells")
    field(call, "n").fill("4")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=30_000)
    result_map(maps, "grid_cells")
    result_view(maps, "grid_cells").get_by_role("button", name="Add to map").click()
    shared = maps.locator(".jp-rpc-SharedMap")
    expect(shared).to_have_attribute("data-layers", "2")
    toggles = shared.locator(".leaflet-control-layers-overlays label")
    expect(toggles).to_have_count(2)
    expect(toggles.nth(0)).to_contain_text("Hamburg")  # the station's name
    expect(toggles.nth(1)).to_contain_text("4 features")
    # A toggle hides its layer: the station's marker leaves the map's canvas paths.
    box = toggles.nth(0).locator("input")
    box.uncheck()
    expect(box).not_to_be_checked()
    count = shared.locator(".leaflet-container").evaluate(
        "node => { let n = 0; node.jpRpcMap.eachLayer(() => n++); return n; }"
    )
    box.check()
    count_on = shared.locator(".leaflet-container").evaluate(
        "node => { let n = 0; node.jpRpcMap.eachLayer(() => n++); return n; }"
    )
    assert count_on > count


def test_a_raster_added_to_the_shared_map_is_drawn_and_toggled(maps: Page) -> None:
    run_stripes(maps)
    result_map(maps, "raster")
    result_view(maps, "raster").get_by_role("button", name="Add to map").click()
    shared = maps.locator(".jp-rpc-SharedMap")
    expect(shared).to_have_attribute("data-layers", "1")
    toggle = shared.locator(".leaflet-control-layers-overlays label").first
    expect(toggle).to_contain_text("stripes")
    m = map_of(shared)
    # row 10, column 50 of 40 x 80 cells over the world holds 60: viridis at 60/255
    x, y = screen_xy(m, -180 + 50.5 * 4.5, 90 - 10.5 * 4.5)
    maps.mouse.move(x + 40, y + 40)  # the pointer off the cell (its readout)
    expected = viridis(60 / 255)
    wait_pixel(maps, x, y, expected)
    toggle.locator("input").uncheck()  # the layer hidden: the base map there again
    maps.wait_for_timeout(300)
    assert not close(pixel(maps, x, y), expected, tol=20), pixel(maps, x, y)
    toggle.locator("input").check()
    wait_pixel(maps, x, y, expected)


TILE = (12, 200, 160)  # the test tile server's one colour


def _solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """A tile server on 127.0.0.1: one solid tile for every ``/tiles/z/x/y.png``; the
    paths asked. Stopped at the end."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    png = _solid_png(TILE)
    asked: list[str] = []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            asked.append(self.path)
            ok = re.fullmatch(r"/tiles/\d+/\d+/\d+\.png", self.path) is not None
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "image/png")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            if ok:
                self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def tiles_lab(
    tmp_path_factory: pytest.TempPathFactory, tile_server: tuple[str, list[str]]
) -> Iterator[LabServer]:
    """A lab whose maps use the test tile server (the user settings a site would put in
    overrides.json)."""
    base = Path(tmp_path_factory.mktemp("tiles-lab"))
    settings = base / "settings" / "jupyter-rpc"
    settings.mkdir(parents=True)
    tiles = {
        "tiles": [
            {
                "name": "Test tiles",
                "url": tile_server[0] + "/tiles/{z}/{x}/{y}.png",
                "attribution": "Tiles of the test server",
            }
        ]
    }
    (settings / "maps.jupyterlab-settings").write_text(json.dumps(tiles))
    config = {"RPCApp": {"backends": {"geo": {"module": "jupyter_rpc.examples.geo"}}}}
    with start_lab(base, config) as server:
        yield server


@pytest.fixture
def tiles_page(
    page: Page,
    tiles_lab: LabServer,
    tile_server: tuple[str, list[str]],
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    """The tiles lab; a request to any host but the lab and the tile server is refused."""
    outside = only_hosts(page, tiles_lab.url, tile_server[0])
    yield from open_lab(page, tiles_lab, request)
    assert not outside, f"the page asked other servers: {outside[:5]}"


def test_a_sites_tile_layer_is_the_base_map(
    tiles_page: Page, tile_server: tuple[str, list[str]]
) -> None:
    """Configured tiles replace the bundled outline: they are fetched from the site's
    tile server (and nowhere else), drawn, and credited."""
    lab, asked = tiles_page, tile_server[1]
    panel = open_panel(lab)
    call = choose(panel, "nearest_station")
    m = geo_field(call, "point").locator(".leaflet-container").first
    expect(m).to_be_visible()
    expect(m.locator(".leaflet-tile-loaded").first).to_be_visible(timeout=30_000)
    assert any(re.fullmatch(r"/tiles/\d+/\d+/\d+\.png", p) for p in asked), asked
    expect(m.locator(".leaflet-jp-rpc-base-pane canvas")).to_have_count(0)  # no outline
    expect(m.locator(".leaflet-control-attribution")).to_contain_text("Tiles of the test server")
    m.evaluate("node => node.scrollIntoView({block: 'center'})")
    box = m.bounding_box()
    assert box is not None
    # a spot in the map's middle band, off the controls: the tile's colour
    assert close(pixel(lab, box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.6), TILE)


def test_a_box_default_is_drawn_and_two_clicks_draw_another(
    maps: Page, maps_lab: LabServer
) -> None:
    panel = open_panel(maps)
    call = choose(panel, "grid_cells")
    box = geo_field(call, "box")
    m = map_of(box)
    # The default (5, 47, 15, 55) is drawn when the form opens: a corner handle each.
    text = field(call, "box")
    expect(text).to_have_value("5, 47, 15, 55")
    expect(box.locator(".leaflet-marker-icon")).to_have_count(4)
    m.evaluate("node => node.jpRpcMap.setView([45, 10], 3, {animate: false})")
    click_lonlat(maps, m, 0.0, 40.0)
    click_lonlat(maps, m, 20.0, 50.0)
    west, south, east, north = (float(v) for v in text.input_value().split(","))
    tol = pixel_degrees(m)
    assert abs(west - 0) <= tol and abs(south - 40) <= tol, (west, south, tol)
    assert abs(east - 20) <= tol and abs(north - 50) <= tol, (east, north, tol)
    field(call, "n").fill("4")
    run(call)
    expect(status(call)).to_have_attribute("data-state", "succeeded", timeout=30_000)
    sent = last_call(maps_lab, "grid_cells")
    assert sent["arguments"]["box"] == [west, south, east, north]


def test_a_4000_by_4000_raster_reaches_the_map_downsampled(maps: Page) -> None:
    """The figure for the issue: the server sends a 1,000 x 1,000 copy; the page draws it."""
    panel = open_panel(maps)
    call = choose(panel, "raster")
    field(call, "rows").fill("4000")
    field(call, "cols").fill("4000")
    clicked = maps.evaluate("performance.now()")
    run(call)
    view = result_view(maps, "raster")
    node = view.locator(".jp-rpc-MapResult[data-drawn-at]")
    expect(node).to_have_count(1, timeout=120_000)
    drawn = float(node.get_attribute("data-drawn-at") or 0)
    arrived = maps.evaluate(
        """drawn => Math.max(...performance.getEntriesByType('resource')
            .filter(e => /jupyter-rpc\/.*calls/.test(e.name) && e.responseEnd <= drawn)
            .map(e => e.responseEnd))""",
        drawn,
    )
    since = drawn - arrived
    print(
        f"4,000 x 4,000 raster drawn {since:.0f} ms after the result arrived "
        f"(the renderer: {node.get_attribute('data-render-ms')} ms), "
        f"{drawn - clicked:.0f} ms after Run"
    )
    assert since < 3000, since
    expect(view.locator(".jp-rpc-MapResult-summary")).to_contain_text(
        "4,000 × 4,000 cells, shown as"
    )
    download = view.get_by_role("link", name="Download", exact=True)
    expect(download).to_have_attribute("href", re.compile(r"/jupyter-rpc/calls/[^/]+/download$"))
    # A value under the pointer (block means of the stripes lie within 0..255).
    rm = map_of(view)
    x, y = screen_xy(rm, 100.0, -30.0)
    maps.mouse.move(x, y)
    value = view.locator(".jp-rpc-RasterReadout")
    expect(value).to_contain_text("stripes")
    assert 0 <= float(value.get_attribute("data-value") or "nan") <= 255
