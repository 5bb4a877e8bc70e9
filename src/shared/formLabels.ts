/**
 * Labels for the inputs of JupyterLab's `FormComponent` (rjsf). Its field template
 * shows a field's title as a heading or a `div` that no input points to, so a screen
 * reader announces an unnamed "edit text" (axe: `label`, critical; with only
 * rjsf's `aria-describedby`, `label-title-only`). Until Lab's template does it, each
 * input is named after its field's title (`aria-label`; a list's items, which show
 * no title, after their list: "values 2"), and the description gets the id rjsf's
 * own `aria-describedby` already names. A list's icon buttons get their tooltip as
 * their name.
 */
import { useEffect } from 'react';
import type { RefObject } from 'react';

/**
 * The controls of a form whose name a user would hear.
 */
const CONTROLS =
  'input:not([type="hidden"]):not([type="checkbox"]):not([type="radio"]), select, textarea';

/**
 * The title element of an rjsf field group (compact or not), if it shows one.
 */
function titleOf(group: Element): HTMLElement | null {
  return group.querySelector<HTMLElement>(
    ':scope > .jp-FormGroup-content > .jp-FormGroup-compactTitle > .jp-FormGroup-fieldLabel, :scope > .jp-FormGroup-content > .jp-FormGroup-fieldLabel'
  );
}

/**
 * A title as a name: without the required mark (`a *`; `required` says it).
 */
function plain(title: string): string {
  return title.replace(/\s*\*\s*$/, '').trim();
}

/**
 * Name a control (marked as named here, so a name its widget gave stays).
 */
function name(control: HTMLElement, text: string): void {
  control.setAttribute('aria-label', text);
  control.dataset.rpcNamed = '1';
}

/**
 * Name every control of the form under `root` at its field's title.
 */
export function labelFields(root: HTMLElement): void {
  // Lab's list buttons (Move up/down, Remove) say what they do in a tooltip only;
  // the button inside their `jp-button` gets its name from the host's aria-label.
  for (const button of root.querySelectorAll<HTMLElement>(
    'jp-button[title]:not([aria-label])'
  )) {
    button.setAttribute('aria-label', button.title);
  }
  for (const control of root.querySelectorAll<HTMLElement>(CONTROLS)) {
    if (
      !control.id ||
      (control instanceof HTMLInputElement && control.labels?.length) ||
      (control.hasAttribute('aria-label') && !control.dataset.rpcNamed)
    ) {
      continue;
    }
    const group = control.closest('.form-group');
    if (!group) {
      continue;
    }
    const title = titleOf(group);
    const text = title ? plain(title.textContent ?? '') : '';
    if (text) {
      name(control, text);
      const description = group.querySelector<HTMLElement>(
        ':scope > .jp-FormGroup-content .jp-FormGroup-description'
      );
      if (description && !description.id) {
        description.id = `${control.id}__description`;
      }
      continue;
    }
    // A list's item: its list's title and its place.
    const list = group.parentElement?.closest('.form-group');
    // (its title comes first in its group, before the items).
    const listTitle =
      list?.querySelector<HTMLElement>('.jp-FormGroup-fieldLabel') ?? null;
    const index = /_(\d+)$/.exec(control.id);
    const listText = listTitle ? plain(listTitle.textContent ?? '') : '';
    if (listText && index) {
      name(control, `${listText} ${Number(index[1]) + 1}`);
    }
  }
}

/**
 * Keep the controls of the form under `ref` labelled while it changes.
 */
export function useLabelledFields(ref: RefObject<HTMLElement>): void {
  useEffect(() => {
    const root = ref.current;
    if (!root) {
      return;
    }
    labelFields(root);
    // Fields come and go (a list's items, a chosen variant): label the new ones.
    const observer = new MutationObserver(() => labelFields(root));
    observer.observe(root, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, [ref]);
}
