"""Opening the panel, the function list, the filter and keyboard use."""

from __future__ import annotations

import re

from helpers import (
    choose,
    field,
    field_errors,
    filter_box,
    function_item,
    open_notebook,
    open_panel,
    result,
    status,
)
from playwright.sync_api import Page, Route, expect


def test_palette_opens_panel_with_backend_and_functions(lab: Page) -> None:
    panel = open_panel(lab)
    expect(panel.get_by_role("heading", name="Remote functions")).to_be_visible()
    group = panel.locator('.jp-rpc-BackendGroup[data-backend="examples"]')
    expect(group.locator(".jp-rpc-BackendGroup-name")).to_have_text("Examples")
    # Listing the functions starts the backend: its badge says so.
    expect(group.locator(".jp-rpc-StateBadge")).to_have_text("running", timeout=60_000)
    add = function_item(panel, "add")
    expect(add).to_contain_text("Add two integers.")
    expect(function_item(panel, "Accumulator.add_all")).to_be_visible()


def test_selecting_a_function_shows_its_docstring_and_form(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "greet")
    expect(call.locator(".jp-rpc-FunctionHeader-doc")).to_contain_text("Say hello to somebody.")
    expect(field(call, "name")).to_be_visible()
    # A Literal becomes a dropdown with its choices, preset to the default.
    style = field(call, "style")
    expect(style.locator("option")).to_have_text(["plain", "shout", "whisper"])
    assert style.evaluate("s => s.selectedOptions[0].textContent") == "plain"
    field(call, "name").fill("Ada")
    style.select_option(label="shout")
    call.get_by_role("button", name="Run", exact=True).click()
    expect(result(call)).to_contain_text("HELLO, ADA!")


def test_filter_hides_functions_that_do_not_match(lab: Page) -> None:
    panel = open_panel(lab)
    expect(function_item(panel, "add")).to_be_visible(timeout=60_000)
    filter_box(panel).fill("temperature")
    expect(function_item(panel, "convert_temperature")).to_be_visible()
    expect(function_item(panel, "temperature_chart")).to_be_visible()
    # "daily temperatures" is in the summary of temperature_chart only; add matches nothing.
    expect(function_item(panel, "add")).to_have_count(0)
    expect(function_item(panel, "simulate")).to_have_count(0)
    filter_box(panel).fill("no such thing")
    expect(panel.get_by_text("No function matches")).to_be_visible()
    filter_box(panel).fill("")
    expect(function_item(panel, "add")).to_be_visible()


def test_keyboard_select_with_enter_and_run_with_ctrl_enter(lab: Page) -> None:
    panel = open_panel(lab)
    item = function_item(panel, "add")
    expect(item).to_be_visible(timeout=60_000)
    item.focus()
    lab.keyboard.press("Enter")
    call = panel.locator(".jp-rpc-FunctionCall")
    expect(call.locator(".jp-rpc-FunctionHeader-name")).to_contain_text("add")
    field(call, "a").fill("5")
    field(call, "a").press("Control+Enter")
    expect(status(call)).to_have_attribute("data-state", "succeeded")
    expect(result(call)).to_contain_text("6")


def test_failed_backend_shows_its_state_and_error(lab: Page) -> None:
    """A backend that cannot start: red badge and the server's message, no traceback."""
    error = {
        "message": "Backend 'examples' exited during start-up: ModuleNotFoundError: No module named 'numpy'",
        "reason": "Service Unavailable",
        "code": "backend.unavailable",
    }
    backend = {
        "name": "examples",
        "display_name": "Examples",
        "description": "",
        "transport": "local",
        "state": "failed",
        "error": error,
        "restarts": 3,
    }

    def fake(route: Route) -> None:
        url = route.request.url.split("?")[0]
        if url.endswith("/jupyter-rpc/backends"):
            route.fulfill(json={"backends": [backend]})
        elif url.endswith("/jupyter-rpc/backends/examples"):
            route.fulfill(json=backend)
        else:
            route.fulfill(status=503, json=error)

    lab.route(re.compile(r"/jupyter-rpc/backends"), fake)
    panel = open_panel(lab)
    group = panel.locator('.jp-rpc-BackendGroup[data-backend="examples"]')
    expect(group.locator(".jp-rpc-StateBadge")).to_have_text("failed")
    expect(group.locator(".jp-rpc-ErrorNotice").first).to_contain_text("No module named 'numpy'")
    expect(group.locator(".jp-rpc-ErrorNotice").first).to_contain_text("The backend failed")
    expect(function_item(panel, "add")).to_have_count(0)


def test_enter_runs_a_form_with_a_list_and_never_adds_an_item(lab: Page) -> None:
    """Issue 16 item 2: Enter in a one-line field of a form with a list ran "Add item"
    (the form's first submit button) instead of the call."""
    panel = open_panel(lab)
    call = choose(panel, "Accumulator.add_all")
    field(call, "start").fill("10")
    call.get_by_title("Add item").click()
    field(call, "function", "values", "0").fill("2.5")
    field(call, "function", "values", "0").press("Enter")
    expect(status(call)).to_have_attribute("data-state", "succeeded")
    expect(result(call)).to_have_text("12.5")
    field(call, "start").press("Enter")
    expect(field(call, "function", "values", "1")).to_have_count(0)  # no item added


def test_an_invalid_run_clears_the_old_result_and_focuses_the_field(lab: Page) -> None:
    """Issue 16 item 3: after an invalid Run the previous result stayed under the error,
    as if the call had run, and the focus stayed on the button."""
    panel = open_panel(lab)
    call = choose(panel, "add")
    field(call, "a").fill("5")
    field(call, "a").press("Enter")
    expect(result(call)).to_contain_text("6")
    field(call, "a").fill("")
    call.get_by_role("button", name="Run", exact=True).click()
    expect(call.locator(".jp-rpc-ErrorNotice")).to_contain_text(
        "Please correct the highlighted arguments"
    )
    expect(result(call)).to_have_count(0)
    expect(status(call)).to_have_count(0)
    expect(field(call, "a")).to_be_focused()


def test_the_progress_tree_stays_after_cancel(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "simulate")
    field(call, "steps").fill("20")
    field(call, "delay").fill("1")
    call.get_by_role("button", name="Run", exact=True).click()
    progress = call.locator(".jp-rpc-Progress")
    expect(progress.locator(".jp-rpc-ProgressStep").first).to_contain_text("Step 1 of 20")
    call.get_by_role("button", name="Cancel").click()
    expect(status(call)).to_have_attribute("data-state", "cancelled")
    expect(call.locator(".jp-rpc-ErrorNotice")).to_contain_text("The call was cancelled")
    # What it got through stays, under the notice.
    expect(progress).to_contain_text("Simulating")
    expect(progress.locator(".jp-rpc-ProgressStep").first).to_contain_text("Step 1 of 20")


def test_the_history_survives_a_reload(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "add")
    field(call, "a").fill("20")
    field(call, "b").fill("22")
    call.get_by_role("button", name="Run", exact=True).click()
    expect(result(call)).to_have_text("42")
    lab.wait_for_timeout(1000)
    lab.reload()
    lab.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    panel = open_panel(lab)
    item = panel.locator(".jp-rpc-HistoryItem", has_text="a=20, b=22").first
    expect(item).to_be_visible(timeout=20_000)
    item.locator(".jp-rpc-HistoryItem-main").click()
    call = panel.locator(".jp-rpc-FunctionCall")
    expect(field(call, "a")).to_have_value("20")
    expect(result(call)).to_have_text("42")


def test_insert_into_notebook_does_not_repeat_the_connect_lines(lab: Page) -> None:
    open_notebook(lab)
    panel = open_panel(lab)
    call = choose(panel, "add")
    field(call, "a").fill("1")
    field(call, "b").fill("2")
    call.get_by_role("button", name="Run", exact=True).click()
    expect(result(call)).to_have_text("3")
    insert = panel.locator(".jp-rpc-HistoryItem").first.get_by_title("Insert into notebook")
    insert.click()
    insert.click()
    cells = lab.locator(".jp-NotebookPanel .jp-Cell .jp-InputArea-editor")
    expect(cells).to_have_count(3)
    first, second = cells.nth(1).inner_text(), cells.nth(2).inner_text()
    assert "from jupyter_rpc import connect" in first, first
    assert "connect(" not in second and "import" not in second, second
    assert "add(" in second, second


def test_the_view_menu_has_the_three_panels_together(lab: Page) -> None:
    lab.locator(".lm-MenuBar-itemLabel", has_text="View").first.click()
    menu = lab.locator(".lm-Menu").last
    expect(menu).to_be_visible()
    items = menu.locator(":scope > ul > li")
    expect(items.first).to_be_visible()
    rows = items.evaluate_all(
        """lis => lis.map(li => li.dataset.type === 'separator' ? '---' :
            (li.querySelector('.lm-Menu-itemLabel')?.textContent ?? ''))"""
    )
    lab.keyboard.press("Escape")
    ours = ["Remote Functions", "Remote Files", "Jobs"]
    assert all(name in rows for name in ours), rows
    start = rows.index(ours[0])
    # Next to each other, in a group of their own (separators around them).
    assert rows[start : start + 3] == ours, rows
    assert rows[start - 1] == "---" and rows[start + 3] == "---", rows


def test_validation_messages_are_written_for_people(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "distance")
    field(call, "start", "lat").fill("53.55")
    field(call, "start", "lon").fill("9.99")
    field(call, "end", "lat").fill("52.52")
    call.get_by_role("button", name="Run", exact=True).click()
    errors = field_errors(call, "end", "lon")
    expect(errors).to_contain_text("Enter a value for lon")
    notice = call.locator(".jp-rpc-ErrorNotice")
    expect(notice).to_contain_text("end.lon: Enter a value for lon")
    # The stable code stays, as a details line.
    expect(notice.locator(".jp-rpc-ErrorNotice-code")).to_contain_text("required")
    expect(call).not_to_contain_text("must have required property")

    call = choose(panel, "heatmap")
    field(call, "width").fill("1000")
    call.get_by_role("button", name="Run", exact=True).click()
    expect(call.locator(".jp-rpc-ErrorNotice")).to_contain_text("width: Enter 512 or less")


def test_fields_of_an_absent_optional_object_are_not_marked_required(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "stations")
    labels = call.locator("label").all_inner_texts()
    near = [text for text in labels if text.strip().lower().startswith(("lat", "lon"))]
    assert all("*" not in text for text in near), labels


def test_function_names_do_not_wrap_mid_word(lab: Page) -> None:
    lab.set_viewport_size({"width": 900, "height": 700})
    panel = open_panel(lab)
    call = choose(panel, "convert_temperature")
    name = call.locator(".jp-rpc-FunctionHeader-name")
    # Every line break falls after an underscore or a dot (or the name fits one line).
    lines = name.evaluate(
        """el => {
            const text = el.textContent; const range = document.createRange();
            const node = [...el.childNodes].flatMap(n => n.nodeType === 3 ? [n] : [...n.childNodes]);
            let tops = [], out = [];
            let i = 0;
            for (const n of node) {
              if (n.nodeType !== 3) continue;
              for (let k = 0; k < n.textContent.length; k++) {
                range.setStart(n, k); range.setEnd(n, k + 1);
                const top = Math.round(range.getBoundingClientRect().top);
                if (tops.length && top !== tops[tops.length - 1]) out.push(i);
                tops.push(top); i++;
              }
            }
            return out.map(j => text.slice(0, j));
        }"""
    )
    assert all(before.endswith(("_", ".")) for before in lines), lines


def test_a_docstring_renders_as_the_notebook_renders_markdown(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "divide")
    doc = call.locator(".jp-rpc-FunctionHeader-doc")
    # rendermime's Markdown renderer (sanitized), as a notebook's Markdown cell.
    rendered = doc.locator(".jp-RenderedMarkdown")
    expect(rendered).to_be_visible()
    expect(rendered.locator("code")).to_have_text(["a", "b", "b"])
    assert "``" not in doc.inner_text()
    # A docstring's indented paragraphs are text, not code blocks.
    call = choose(panel, "temperature_chart")
    expect(call.locator(".jp-rpc-FunctionHeader-doc .jp-RenderedMarkdown p").first).to_be_visible()
    expect(call.locator(".jp-rpc-FunctionHeader-doc pre")).to_have_count(0)


def test_an_error_code_is_never_shown_bare(lab: Page) -> None:
    panel = open_panel(lab)
    call = choose(panel, "divide")
    field(call, "a").fill("1")
    field(call, "b").fill("0")
    call.get_by_role("button", name="Run", exact=True).click()
    notice = call.locator(".jp-rpc-ErrorNotice")
    expect(notice).to_contain_text("The function raised ValueError")
    # The stable code is a labelled details line, not a line of its own.
    expect(notice.locator(".jp-rpc-ErrorNotice-code")).to_have_text("Error code: call.remote_error")
