import { MimeModel } from '@jupyterlab/rendermime';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import React, { useLayoutEffect, useRef } from 'react';
import { docToMarkdown } from './DocText';

/**
 * Properties of {@link MarkdownDoc}.
 */
export interface IMarkdownDocProps {
  /** A docstring (numpy/Google/reST style). */
  text: string;
  rendermime: IRenderMimeRegistry;
  className?: string;
}

/**
 * A docstring rendered as a notebook renders Markdown: {@link docToMarkdown},
 * then rendermime's Markdown renderer, untrusted (so sanitized).
 */
export function MarkdownDoc(props: IMarkdownDocProps): JSX.Element {
  const { text, rendermime } = props;
  const host = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    const renderer = rendermime.createRenderer('text/markdown');
    const model = new MimeModel({
      data: { 'text/markdown': docToMarkdown(text) },
      trusted: false
    });
    void renderer.renderModel(model);
    Widget.attach(renderer, node);
    return () => {
      if (renderer.isAttached && renderer.node.isConnected) {
        Widget.detach(renderer);
      }
      renderer.dispose();
    };
  }, [text, rendermime]);
  return <div className={props.className} ref={host} />;
}
