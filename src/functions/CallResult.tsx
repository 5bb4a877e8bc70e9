import { OutputAreaModel, SimplifiedOutputArea } from '@jupyterlab/outputarea';
import type { IOutputAreaModel } from '@jupyterlab/outputarea';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import React, { useLayoutEffect, useRef } from 'react';
import type { MimeBundle } from './api';

/**
 * Properties of {@link CallResult}.
 */
export interface ICallResultProps {
  /** The call's MIME bundle. */
  display: MimeBundle;
  rendermime: IRenderMimeRegistry;
  label: string;
}

/**
 * A call's result rendered like a notebook output: the bundle goes into an
 * (untrusted) `OutputAreaModel` as an `execute_result`, shown by a
 * `SimplifiedOutputArea`, so HTML is sanitized and images, JSON and Vega-Lite
 * use JupyterLab's renderers.
 */
export function CallResult(props: ICallResultProps): JSX.Element {
  const { display, rendermime, label } = props;
  const host = useRef<HTMLDivElement>(null);
  // A layout effect: its cleanup runs while the host is still in the DOM,
  // which Lumino needs to detach the output area.
  useLayoutEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    const { data, trusted } = Private.bundleToShow(display);
    const model = new OutputAreaModel({ trusted });
    const area = new SimplifiedOutputArea({ model, rendermime });
    area.addClass('jp-rpc-CallResult-output');
    model.add({
      output_type: 'execute_result',
      execution_count: null,
      data,
      metadata: {}
    } as unknown as Parameters<IOutputAreaModel['add']>[0]);
    Widget.attach(area, node);
    return () => {
      if (area.isAttached && area.node.isConnected) {
        Widget.detach(area);
      }
      if (!area.isAttached) {
        area.dispose();
      }
      model.dispose();
    };
  }, [display, rendermime]);
  return (
    <div
      className="jp-rpc-CallResult"
      ref={host}
      role="region"
      aria-label={label}
    />
  );
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  /**
   * The bundle to render and whether to trust it.
   *
   * Results are untrusted, so HTML and Markdown are sanitized. JupyterLab shows
   * no untrusted SVG at all, though; its SVG renderer draws the markup as an
   * `<img>` (where scripts never run), so an SVG is shown trusted, on its own,
   * without any other (possibly active) type of the bundle.
   * Tables show as tables: with `text/html`, `application/json` is dropped.
   */
  export function bundleToShow(display: MimeBundle): {
    data: MimeBundle;
    trusted: boolean;
  } {
    const svg = display['image/svg+xml'];
    if (typeof svg === 'string') {
      return { data: { 'image/svg+xml': svg }, trusted: true };
    }
    if (
      typeof display['text/html'] === 'string' &&
      'application/json' in display
    ) {
      // A table (list of records) comes as HTML; JupyterLab would prefer the
      // JSON tree of the same records (its JSON renderer ranks first).
      const { ['application/json']: _json, ...rest } = display;
      void _json;
      return { data: rest, trusted: false };
    }
    return { data: display, trusted: false };
  }
}
