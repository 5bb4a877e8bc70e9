/**
 * Field descriptions rendered as the notebook renders Markdown. Lab's form
 * template prints `schema.description` as plain text (its look is kept: the
 * same element, class and place); beside it this shows the description as written
 * (`IPreparedSchema.descriptions`: numpy/reST docstrings through `docToMarkdown`)
 * through rendermime's Markdown renderer, untrusted, so sanitized, and hides the
 * plain one. The plain element keeps its id, so rjsf's `aria-describedby` still
 * reads it.
 */
import { MimeModel } from '@jupyterlab/rendermime';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import { useLayoutEffect } from 'react';
import type { RefObject } from 'react';
import { docToMarkdown } from '../DocText';

/** The class of a rendered description. */
export const FIELD_DOC_CLASS = 'jp-rpc-FieldDoc';
/** The class of Lab's plain description once rendered beside it (hidden). */
const SOURCE_CLASS = 'jp-rpc-mod-renderedElsewhere';

const renderers = new WeakMap<HTMLElement, Widget>();

function drop(doc: HTMLElement): void {
  const renderer = renderers.get(doc);
  renderers.delete(doc);
  // Once React has taken the form out of the page, Lumino cannot detach the
  // renderer (nor dispose it, which detaches): it goes with its nodes.
  if (renderer && renderer.node.isConnected) {
    Widget.detach(renderer);
    renderer.dispose();
  }
  doc.remove();
}

/**
 * Render the descriptions under `root` that are not rendered yet (or changed), and
 * drop rendered ones whose plain description went away.
 */
export function renderDescriptions(
  root: HTMLElement,
  rendermime: IRenderMimeRegistry,
  written: Record<string, string>
): void {
  for (const doc of root.querySelectorAll<HTMLElement>(`.${FIELD_DOC_CLASS}`)) {
    const source = doc.previousElementSibling;
    if (
      !(source instanceof HTMLElement) ||
      source.dataset.rpcDoc !== doc.dataset.rpcDoc ||
      source.textContent !== doc.dataset.rpcDoc
    ) {
      drop(doc);
    }
  }
  const sources = root.querySelectorAll<HTMLElement>(
    `.jp-FormGroup-description:not(.${FIELD_DOC_CLASS})`
  );
  for (const source of sources) {
    const text = source.textContent ?? '';
    const next = source.nextElementSibling;
    if (
      next instanceof HTMLElement &&
      next.classList.contains(FIELD_DOC_CLASS)
    ) {
      continue;
    }
    if (!text.trim()) {
      source.classList.remove(SOURCE_CLASS);
      continue;
    }
    const doc = document.createElement('div');
    doc.className = `jp-FormGroup-description ${FIELD_DOC_CLASS}`;
    doc.dataset.rpcDoc = text;
    source.dataset.rpcDoc = text;
    source.after(doc);
    const renderer = rendermime.createRenderer('text/markdown');
    renderers.set(doc, renderer);
    void renderer.renderModel(
      new MimeModel({
        data: { 'text/markdown': docToMarkdown(written[text] ?? text) },
        trusted: false
      })
    );
    Widget.attach(renderer, doc);
    source.classList.add(SOURCE_CLASS);
  }
}

/**
 * Keep the descriptions of the form under `ref` rendered while it changes.
 */
export function useMarkdownDescriptions(
  ref: RefObject<HTMLElement>,
  rendermime: IRenderMimeRegistry | undefined,
  written: Record<string, string> | undefined
): void {
  // A layout effect: its cleanup runs while the form is still in the page.
  useLayoutEffect(() => {
    const root = ref.current;
    if (!root || !rendermime) {
      return;
    }
    const render = (): void =>
      renderDescriptions(root, rendermime, written ?? {});
    render();
    const observer = new MutationObserver(render);
    observer.observe(root, {
      childList: true,
      subtree: true,
      characterData: true
    });
    return () => {
      observer.disconnect();
      for (const doc of root.querySelectorAll<HTMLElement>(
        `.${FIELD_DOC_CLASS}`
      )) {
        drop(doc);
      }
    };
  }, [ref, rendermime, written]);
}
