/**
 * A toolbar button that is an action, not a toggle. Lab's `ToolbarButton` widget
 * always passes its `pressed` state (false) to its `jp-button`, whose host element
 * then carries `aria-pressed` without a role that allows it (axe:
 * `aria-allowed-attr`, critical): a screen reader announces a toggle that never stays
 * on. An action's `pressed` is left undefined, so no `aria-pressed` is written.
 */
import { ToolbarButton } from '@jupyterlab/ui-components';

export class ActionButton extends ToolbarButton {
  get pressed(): boolean {
    return undefined as unknown as boolean;
  }

  set pressed(_value: boolean) {
    // An action is never pressed.
  }
}
