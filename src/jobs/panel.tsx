import type { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon, ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import React from 'react';
import type { IClustersManager } from '../clusters/tokens';
import type { ClusterTerminalsRegistry } from '../clusters/terminals';
import { JobsView } from './JobsView';
import type { JobsRegistry } from './manager';
import { JobsPanelModel } from './model';

/**
 * A stack of three job bars with a clock hand, themed through `jp-icon3`.
 */
const JOBS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="none" stroke="#616161" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round">
    <path d="M3 5h11M3 10h8M3 15h6" />
    <circle cx="16.5" cy="16" r="5" />
    <path d="M16.5 13.2V16l2 1.4" />
  </g>
</svg>`;

/**
 * The icon of the "Jobs" panel.
 */
export const jobsIcon = new LabIcon({
  name: 'jupyter-rpc:jobs',
  svgstr: JOBS_SVG
});

/**
 * The "Jobs" side panel.
 */
export class JobsPanel extends ReactWidget {
  constructor(options: JobsPanel.IOptions) {
    super();
    this._options = options;
    this.model = new JobsPanelModel();
    this.id = 'jp-rpc-jobs';
    this.addClass('jp-rpc-JobsPanel');
    this.title.icon = jobsIcon;
    this.title.caption = options.trans.__('Jobs');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', options.trans.__('Jobs'));
  }

  /** What the panel shows. */
  readonly model: JobsPanelModel;

  render(): JSX.Element {
    const { trans } = this._options;
    return (
      <>
        <h2 className="jp-rpc-JobsPanel-heading jp-text-truncated">
          {trans.__('Jobs')}
        </h2>
        <JobsView model={this.model} {...this._options} />
      </>
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.visible = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.visible = false;
  }

  private _options: JobsPanel.IOptions;
}

export namespace JobsPanel {
  export interface IOptions {
    clusters: IClustersManager;
    registry: JobsRegistry;
    commands: CommandRegistry;
    trans: TranslationBundle;
    /** The clusters' open terminals, listed under the cluster bar. */
    terminals?: ClusterTerminalsRegistry;
  }
}
