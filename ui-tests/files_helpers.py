"""Page helpers for the "Remote files" panel (what a user does, step by step)."""

from __future__ import annotations

import re

from helpers import open_by_palette
from playwright.sync_api import Locator, Page, expect

PANEL = "#jp-rpc-files"


def open_files_panel(page: Page) -> Locator:
    """Open the panel through the command palette, as a user would."""
    return open_by_palette(page, "Open Remote Files", PANEL)


def choose_cluster(panel: Locator, label: str) -> None:
    """Pick a cluster by its display name."""
    select = panel.get_by_label("Cluster", exact=True)
    select.select_option(label=label)
    expect(select.locator("option:checked")).to_have_text(label)


def listing(panel: Locator) -> Locator:
    """The directory listing of the panel's file browser."""
    return panel.locator(".jp-DirListing-content")


def item(panel: Locator, name: str) -> Locator:
    """The listing entry named exactly ``name``."""
    return (
        listing(panel)
        .locator(".jp-DirListing-item")
        .filter(
            has=panel.page.locator(
                ".jp-DirListing-itemText", has_text=re.compile(rf"^{re.escape(name)}$")
            )
        )
    )


def open_item(panel: Locator, name: str) -> None:
    """Double-click an entry (enter a folder, open a file)."""
    entry = item(panel, name)
    expect(entry).to_be_visible(timeout=30_000)
    entry.dblclick()


def breadcrumbs(panel: Locator) -> Locator:
    """The browser's path bar."""
    return panel.locator(".jp-BreadCrumbs")


def context_menu(panel: Locator, name: str, command: str) -> None:
    """Right-click an entry and choose a menu item (``command``: its label, a regex)."""
    entry = item(panel, name)
    expect(entry).to_be_visible(timeout=30_000)
    entry.click(button="right")
    menu_item = panel.page.locator(".lm-Menu-item", has_text=re.compile(rf"^({command})"))
    expect(menu_item.first).to_be_visible()
    menu_item.first.click()


def menu_labels(panel: Locator, name: str) -> list[str]:
    """The context menu's labels for an entry (the menu is closed again)."""
    entry = item(panel, name)
    expect(entry).to_be_visible(timeout=30_000)
    entry.click(button="right")
    menu = panel.page.locator(".lm-Menu").first
    expect(menu).to_be_visible()
    labels = [
        t.strip()
        for t in menu.locator(
            ".lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel"
        ).all_inner_texts()
    ]
    panel.page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    return labels


def editor_text(page: Page) -> Locator:
    """The text of the active file editor."""
    return page.locator(".jp-FileEditor .cm-content").first
