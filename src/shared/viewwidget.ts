import { ReactWidget } from '@jupyterlab/ui-components';

/**
 * A React widget that renders what a function returns, again on `update()`
 * (for a view whose state lives outside React, in a Lumino widget).
 */
export class ViewWidget extends ReactWidget {
  constructor(private _view: () => JSX.Element) {
    super();
  }

  protected render(): JSX.Element {
    return this._view();
  }
}
