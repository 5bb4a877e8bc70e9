import { OutputAreaModel, SimplifiedOutputArea } from '@jupyterlab/outputarea';
import type { IOutputAreaModel } from '@jupyterlab/outputarea';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import React, { useEffect, useRef } from 'react';
import type { MimeBundle } from '../../api/types';

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
  useEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    const model = new OutputAreaModel({ trusted: false });
    const area = new SimplifiedOutputArea({ model, rendermime });
    area.addClass('jp-rpc-CallResult-output');
    model.add({
      output_type: 'execute_result',
      execution_count: null,
      data: display,
      metadata: {}
    } as unknown as Parameters<IOutputAreaModel['add']>[0]);
    Widget.attach(area, node);
    return () => {
      area.dispose();
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
