/**
 * Where the Remote files panel's own context menu was last opened. Its entries
 * (ours, and those other features add, such as "Open Terminal Here") ask for
 * the item under the pointer here: JupyterLab's `contextMenuHitTest` only
 * knows the application's own menu, which the panel replaces.
 */
let target: Element | null = null;

/**
 * Record the element a context menu of the panel was opened on.
 */
export function setRemoteMenuTarget(element: Element | null): void {
  target = element;
}

/**
 * The closest element matching `selector` at or above where the panel's
 * context menu was opened (null when none).
 */
export function remoteMenuHit(selector: string): Element | null {
  return target?.closest(selector) ?? null;
}
